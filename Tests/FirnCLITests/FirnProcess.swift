import Foundation
import Testing

/// Runs the real `firn` executable, built next to the test bundle, in a temporary data directory.
///
/// Waiting for a process blocks its thread, so the suites that run `firn` are `@MainActor`:
/// they wait on the main thread, one at a time, instead of holding Swift's cooperative pool
/// (two threads on a two-core machine), which the asynchronous suites running at the same time
/// need (an ingest test waits up to a minute for a file to be taken).
struct FirnProcess {
    /// The output of one finished run.
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `firn` binary: in the same build directory as the running test bundle.
    static let executable: URL = {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return bundle.deletingLastPathComponent().appendingPathComponent("firn")
    }()

    /// A fresh temporary directory, removed by the caller with ``remove(_:)``.
    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("firn-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func remove(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
    }

    /// Starts `firn ARGS…` without waiting.
    static func start(_ arguments: [String]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    /// Runs `firn ARGS…` to completion.
    @discardableResult
    static func run(_ arguments: [String]) throws -> Output {
        let (process, out, err) = try start(arguments)
        return finish(process, out, err)
    }

    /// Runs `firn ARGS…`, killing it if it still runs after `seconds` (a command that should
    /// have refused to start fails its test instead of hanging it). For commands that print
    /// little: the output is read once the process has ended.
    static func run(_ arguments: [String], seconds: Double) throws -> Output {
        let (process, out, err) = try start(arguments)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        return finish(process, out, err)
    }

    /// `firn query SQL --format csv` against `place` (`--data-dir DIR` or `--warehouse URL`):
    /// its output, expecting success.
    static func csv(_ place: [String], _ sql: String) throws -> String {
        let output = try run(["query"] + place + ["--format", "csv", sql])
        #expect(output.status == 0, "\(output.stderr)")
        return output.stdout
    }

    /// The single value a one-row, one-column query returns ("" otherwise).
    static func value(_ place: [String], _ sql: String) throws -> String {
        let lines = try csv(place, sql).split(whereSeparator: \.isNewline)
        return lines.count == 2 ? String(lines[1]) : ""
    }

    /// The tables a run leaves: SCD1, history and the staging row count.
    static func tables(_ place: [String]) throws -> [String] {
        try [
            "SELECT * FROM customer ORDER BY customer_id",
            "SELECT * FROM customer_history ORDER BY customer_id, start_time",
            "SELECT count(*) FROM customer_raw",
        ].map { try csv(place, $0) }
    }

    /// Reads the process's output to its end, then waits for it.
    private static func finish(_ process: Process, _ out: Pipe, _ err: Pipe) -> Output {
        // Read before waiting so a full pipe cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }

    /// The repository's `examples/` folder.
    static let examples: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples")
}
