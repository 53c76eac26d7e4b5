import ArgumentParser
import FirnIngest
import FirnWarehouse
import Foundation

/// `firn provenance FILE-OR-KEY`: one file's journey from landing to SCD2.
struct Provenance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a file's journey: landed, uploaded (key, ETag), archived, loaded (rows applied).",
        discussion: """
            Give a file name, a landing or archive path, or an object key. The ingest journal \
            (<data-dir>/ingest.sqlite) gives the first steps, load history the last. With several \
            entities in the config, --entity is not needed.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "A file name, path or object key.")
    var file: String

    func run() async throws {
        let settings = try options.settings()
        let journalPath = (settings.dataDirectory as NSString).appendingPathComponent("ingest.sqlite")
        let entries =
            FileManager.default.fileExists(atPath: journalPath) ? try options.openJournal(settings).find(file) : []
        // With several entities and no --entity: the entity the file's key routes to (load
        // history is one table, so any entity's warehouse reads it).
        let warehouse =
            if options.entity == nil, settings.allEntities.count > 1 {
                try await options.openWarehouse(
                    for: settings.entity(routing: entries.first?.objectKey ?? file) ?? settings.allEntities[0],
                    settings,
                    creating: false
                )
            } else {
                try await options.openWarehouse(creating: false).0
            }
        var keys = entries.map(\.objectKey)
        if keys.isEmpty { keys = [file] }
        var printed = false
        for (index, entry) in entries.enumerated() {
            if index > 0 { print("") }
            print(entry.name)
            print(
                "  landed    \(entry.landedAt)  \(entry.landingPath) (\(entry.size) bytes, sha256 \(entry.sha256.prefix(12)))"
            )
            switch entry.state {
            case .duplicate:
                print(
                    "  duplicate              same name and content as the file uploaded as \(entry.objectKey); not uploaded again"
                )
            case .failed:
                print("  FAILED    \(entry.finishedAt ?? "")  \(entry.error ?? "")")
                if entry.attempts > 0 { print("            after \(entry.attempts) attempts") }
            default:
                if let uploaded = entry.uploadedAt {
                    print("  uploaded  \(uploaded)  key \(entry.objectKey), ETag \(entry.etag ?? "?")")
                } else {
                    print(
                        "  uploading              key \(entry.objectKey) (not confirmed yet\(entry.error.map { "; last error: \($0)" } ?? ""))"
                    )
                }
            }
            if let finished = entry.finishedAt, entry.state == .archived || entry.state == .duplicate {
                print("  archived  \(finished)  \(entry.finalPath ?? "")")
            } else if let finished = entry.finishedAt, entry.state == .deleted {
                print("  deleted   \(finished)")
            }
            if entry.state != .duplicate && entry.state != .failed {
                printLoads(try await warehouse.loads(named: entry.objectKey), indent: "  ")
            }
            printed = true
        }
        if entries.isEmpty {
            for key in keys {
                let loads = try await warehouse.loads(named: key)
                guard !loads.isEmpty else { continue }
                print(key)
                printLoads(loads, indent: "  ")
                printed = true
            }
        }
        if !printed {
            printError("error: no file or object \(file.debugDescription) in the ingest journal or load history")
            throw ExitCode.failure
        }
    }

    func printLoads(_ loads: [LoadSummary], indent: String) {
        if loads.isEmpty { print("\(indent)not loaded yet") }
        for load in loads {
            switch load.status {
            case "loaded":
                print(
                    "\(indent)loaded    \(load.finishedAt ?? "")  load \(load.id): \(load.rowsLoaded) rows, \(load.rowsRejected) rejected, versions opened \(load.versionsOpened), closed \(load.versionsClosed)"
                )
                if let warnings = load.warnings { print("\(indent)  warnings: \(warnings)") }
            case "failed":
                print("\(indent)load FAILED \(load.finishedAt ?? "")  load \(load.id): \(load.error ?? "")")
            default:
                print("\(indent)loading   \(load.startedAt)  load \(load.id) (\(load.rowsLoaded) rows so far)")
            }
        }
    }
}
