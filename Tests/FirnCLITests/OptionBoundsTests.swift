import Foundation
import Testing

/// Issue 11: every numeric flag is checked against its range before anything runs. A value out
/// of range (zero, negative, huge, not a number) gives one error line naming the flag and its
/// allowed range and a non-zero exit, never a crash with a stack trace.
@MainActor @Suite(.serialized) struct OptionBoundsTests {
    /// Runs `firn ARGS…`, killing it after `seconds` (a flag that was not checked may start a
    /// long run); the status is then the signal's.
    static func run(_ arguments: [String], seconds: Double = 10) throws -> FirnProcess.Output {
        try FirnProcess.run(arguments, seconds: seconds)
    }

    /// Command, flag, value, and the range the error must state.
    nonisolated static let cases: [(command: [String], flag: String, value: String, range: String)] = [
        (["generate"], "--rows-per-file", "0", "1 to 1000000"),
        (["generate"], "--rows-per-file", "9223372036854775807", "1 to 1000000"),
        (["generate"], "--rate", "1e308", "0.01 to 1000000"),
        (["generate"], "--rate", "0", "0.01 to 1000000"),
        (["generate"], "--rate", "nan", "0.01 to 1000000"),
        (["generate"], "--files", "0", "1 to 1000000"),
        (["generate"], "--files", "9223372036854775807", "1 to 1000000"),
        (["generate"], "--duration", "1e300", "0.001 to 31622400"),
        (["generate"], "--late-fraction", "0.9", "0 to 0.7"),
        (["run"], "--status-interval", "-1", "0.1 to 86400"),
        (["run"], "--status-interval", "1e308", "0.1 to 86400"),
        (["run"], "--generate", "1e308", "0.01 to 1000000"),
        (["run"], "--rows-per-file", "9223372036854775807", "1 to 1000000"),
        (["run"], "--late-fraction", "inf", "0 to 0.7"),
        (["ingest"], "--status-interval", "0", "0.1 to 86400"),
        (["pipe"], "--status-interval", "1e20", "0.1 to 86400"),
        (["task", "history"], "--limit", "0", "1 to 1000000000"),
        (["copy-history"], "--limit", "-1", "1 to 1000000000"),
        (["rejects"], "--limit", "9223372036854775807", "1 to 1000000000"),
        (["bench", "load"], "--n", "0", "1 to 10000000"),
        (["bench", "load"], "--rows", "9223372036854775807", "1 to 100000000"),
        (["bench", "load"], "--batch-sizes", "0", "1 to 10000000"),
        (["bench", "load"], "--page-size", "3", "512 to 65536"),
        (["bench", "load"], "--checkpoint-pages", "-5", "0 to 10000000"),
        (["bench", "load"], "--key-state-capacity", "9223372036854775807", "0 to 10000000"),
        (["bench", "flow"], "--rate", "1e308", "0.01 to 1000000"),
        (["bench", "flow"], "--seconds", "1e300", "0.1 to 86400"),
        (["bench", "flow"], "--rows-per-file", "0", "1 to 1000000"),
        (["bench", "flow"], "--runs", "1000000", "1 to 100"),
        (["bench", "flow"], "--late-fraction", "0.9", "0 to 0.7"),
    ]

    @Test(arguments: cases.indices)
    func outOfRangeFlagsGiveOneLineNamingTheFlagAndItsRange(index: Int) throws {
        let (command, flag, value, range) = Self.cases[index]
        let work = try FirnProcess.temporaryDirectory("bounds")
        defer { FirnProcess.remove(work) }
        let place =
            command.first == "bench"
            ? (command == ["bench", "flow"]
                ? ["--buckets", "file", "--directory", work.path] : ["--directory", work.path])
            : ["--data-dir", work.path]
        // `--flag=value`, so that a negative number reaches the check rather than reading as a flag.
        let result = try Self.run(command + place + ["\(flag)=\(value)"])
        let shown = "\(command.joined(separator: " ")) \(flag)=\(value): status \(result.status)\n\(result.stderr)"
        #expect(result.status != 0, "\(shown)")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"), "\(shown)")
        let errors = result.stderr.split(whereSeparator: \.isNewline).filter { $0.contains("Error") }
        #expect(errors.count == 1, "\(shown)")
        #expect(errors.first?.contains(flag) == true && errors.first?.contains(range) == true, "\(shown)")
    }

    @Test func aNegativeNumberAfterASpaceIsRefusedWithoutACrash() throws {
        let work = try FirnProcess.temporaryDirectory("bounds")
        defer { FirnProcess.remove(work) }
        let result = try Self.run(["run", "--data-dir", work.path, "--status-interval", "-1"])
        #expect(result.status != 0)
        #expect(!result.stderr.contains("Fatal error"), "\(result.stderr)")
        #expect(result.stderr.contains("--status-interval"), "\(result.stderr)")
    }

    @Test func workersNeedAPostgreSQLServer() throws {
        let work = try FirnProcess.temporaryDirectory("bounds-workers")
        defer { FirnProcess.remove(work) }
        let result = try Self.run(["bench", "load", "--directory", work.path, "--workers", "2"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--workers needs --warehouse"), "\(result.stderr)")
    }

    @Test func valuesAtTheirBoundsAreAccepted() throws {
        let work = try FirnProcess.temporaryDirectory("bounds-ok")
        defer { FirnProcess.remove(work) }
        let result = try Self.run(
            [
                "generate", "--data-dir", work.path, "--rows-per-file", "1", "--rate", "1000000", "--files", "1",
                "--late-fraction", "0", "--unpaced",
            ],
            seconds: 60
        )
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}

/// The config file's `ingest:` section reaches `firn ingest`: its key template and its
/// `after_upload: delete`.
@MainActor @Suite struct IngestSectionTests {
    @Test func ingestTakesItsKeyTemplateAndAfterUploadFromTheConfig() throws {
        let work = try FirnProcess.temporaryDirectory("ingest-section")
        defer { FirnProcess.remove(work) }
        let config = work.appendingPathComponent("firn.yaml")
        try "ingest:\n  key_template: \"flat/{name}\"\n  after_upload: delete\n  stability_interval: 0\n".write(
            to: config,
            atomically: true,
            encoding: .utf8
        )
        let data = work.appendingPathComponent("data")
        let landing = data.appendingPathComponent("landing")
        try FileManager.default.createDirectory(at: landing, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: FirnProcess.examples.appendingPathComponent("customers-1.csv"),
            to: landing.appendingPathComponent("customers-1.csv")
        )
        let (process, out, err) = try FirnProcess.start([
            "ingest", "--data-dir", data.path, "--config", config.path, "--status-interval", "0.2",
        ])
        let uploaded = data.appendingPathComponent("bucket/flat/customers-1.csv")
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: uploaded.path) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
        }
        Thread.sleep(forTimeInterval: 0.5)
        kill(process.processIdentifier, SIGINT)
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: uploaded.path), "\(stdout)\(stderr)")
        let archive = data.appendingPathComponent("archive").path
        let archived = (FileManager.default.enumerator(atPath: archive)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".csv") }
        #expect(archived.isEmpty, "after_upload: delete archives nothing: \(archived)")
        #expect(!FileManager.default.fileExists(atPath: landing.appendingPathComponent("customers-1.csv").path))
    }
}
