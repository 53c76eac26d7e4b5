import ArgumentParser
import FirnCore
import FirnPipe
import FirnWarehouse
import Foundation

/// `firn load FILE…`: load files synchronously into staging, SCD1 and SCD2.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load change files (CSV or JSON Lines) exactly once; SCD1 and SCD2 are current when it returns.",
        discussion: """
            A file is identified by its name and SHA-256: content loaded before is skipped, a changed \
            file under the same name is loaded. Bad rows are rejected with reasons (see `firn rejects`) \
            and the rest loads. Exits non-zero only if a file could not be read at all. With several \
            entities in the config (entities:), each file goes to the entity whose route matches its \
            path (or all to --entity).
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "Files to load, in order (.jsonl, .ndjson or .json: JSON Lines; anything else: CSV).")
    var files: [String]

    /// Refuses, before anything loads, arguments that are not change files: standard input,
    /// directories, and `.json` files holding a JSON array instead of JSON Lines.
    func validate() throws {
        for file in files {
            if file == "-" {
                throw ValidationError(
                    "firn load reads files, not standard input: save the input to a file "
                        + "(e.g. `cat > changes.csv`) and load that"
                )
            }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
                throw ValidationError(
                    "\(file) is a directory: name the files to load, in the order they apply "
                        + "(e.g. `firn load \(file)/*.csv`)"
                )
            }
            if FileFormat(path: file) == .jsonLines, Self.startsWithJSONArray(file) {
                throw ValidationError(
                    "\(file) holds a JSON array; firn load reads JSON Lines (one object per line): convert it, "
                        + "e.g. `jq -c '.[]' \(file) > \((file as NSString).deletingPathExtension).jsonl`"
                )
            }
        }
    }

    /// Whether the file's first byte that is not white space opens a JSON array.
    static func startsWithJSONArray(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4096)) ?? Data()
        return head.first { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) } == UInt8(ascii: "[")
    }

    func run() async throws {
        let settings = try options.settings()
        var failed: [String] = []
        // With several entities (and no --entity), each file goes to the entity its route names.
        var groups: [(entity: EntityConfiguration, files: [String])] = []
        if options.entity == nil, settings.allEntities.count > 1 {
            for file in files {
                guard let entity = settings.entity(routing: file) else {
                    print("\(file): FAILED: no entity's route matches it (routes: \(settings.routeList)); nothing was loaded")
                    failed.append(file)
                    continue
                }
                if let index = groups.firstIndex(where: { $0.entity.name == entity.name }) {
                    groups[index].files.append(file)
                } else {
                    groups.append((entity, [file]))
                }
            }
        } else {
            do {
                groups = [(try settings.entity(named: options.entity), files)]
            } catch {
                throw CommandError(error.message)
            }
        }
        let interactive = isatty(STDERR_FILENO) != 0
        var first: (any Warehouse)?
        for group in groups {
            let warehouse =
                if let first {
                    try await options.openWarehouse(for: group.entity, beside: first, settings)
                } else {
                    try await options.openWarehouse(for: group.entity, settings)
                }
            if first == nil { first = warehouse }
            let loader = FileLoader(warehouse: warehouse, reader: settings.reader)
            // Consecutive small files are applied together, one transaction per chunk's worth of rows.
            _ = try await loader.load(group.files.map { FileToLoad(path: $0) }) { progress in
                if interactive {
                    FileHandle.standardError.write(Data("\r\(progress.path): \(progress.rowsRead) rows…".utf8))
                }
            } loaded: { _, report in
                if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                let prefix = groups.count > 1 || settings.allEntities.count > 1 ? "[\(group.entity.name)] " : ""
                print(prefix + Self.describe(report))
                if report.status == .failed { failed.append(report.path) }
            }
        }
        if !failed.isEmpty {
            printError("error: could not load \(failed.joined(separator: ", ")) (see above, and `firn copy-history`)")
            throw ExitCode.failure
        }
    }

    static func describe(_ report: FileLoadReport) -> String {
        let seconds = String(format: "%.3f s", report.elapsedSeconds)
        switch report.status {
        case .skipped:
            let id = report.summary.map { " by load \($0.id)" } ?? ""
            return "\(report.path): skipped, same name and checksum already loaded\(id)"
        case .failed:
            return "\(report.path): FAILED: \(report.error ?? "unknown error")"
        case .loaded:
            var line =
                "\(report.path): loaded \(report.counts.staged) rows, rejected \(report.rejected), "
                + "versions opened \(report.counts.versionsOpened), closed \(report.counts.versionsClosed), \(seconds)"
            if report.rejected > 0 { line += " (see `firn rejects`)" }
            // Whatever the file left to defaults or ignored (also in `firn copy-history`).
            for warning in report.warnings { line += "\n  warning: \(warning)" }
            return line
        }
    }
}
