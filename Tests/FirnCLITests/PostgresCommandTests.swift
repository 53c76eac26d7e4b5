import Foundation
import Testing

/// `firn` against a PostgreSQL server of its own (scripts/postgres-server), stopped and started
/// again between runs.
@MainActor @Suite struct PostgresCommandTests {
    static let script = FirnProcess.examples.deletingLastPathComponent().appendingPathComponent("scripts/postgres-server").path

    /// Starts (or restarts) the server in `directory` and returns its URL.
    static func start(_ directory: String) throws -> String {
        let output = directory + ".url"
        let status = system("bash '\(script)' start '\(directory)' >'\(output)' 2>'\(directory).log' </dev/null")
        let url = (try? String(contentsOfFile: output, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0, let url, !url.isEmpty else {
            throw FirnCommandTestError("scripts/postgres-server start failed: see \(directory).log")
        }
        return url
    }

    static func stop(_ directory: String) {
        _ = system("bash '\(script)' stop '\(directory)' >/dev/null 2>&1 </dev/null")
    }

    @Test func loadOnAStoppedServerFailsInOneLineAndSucceedsOnceItIsBack() throws {
        let dir = try FirnProcess.temporaryDirectory("pg-stopped")
        let server = dir.appendingPathComponent("pg").path
        defer {
            Self.stop(server)
            FirnProcess.remove(dir)
        }
        let url = try Self.start(server)
        let warehouse = url + "?sslmode=disable&schema=cli"
        let file = FirnProcess.examples.appendingPathComponent("customers-1.csv").path
        Self.stop(server)
        let failed = try FirnProcess.run(["load", "--warehouse", warehouse, "--data-dir", dir.path, file], seconds: 60)
        #expect(failed.status != 0)
        let port = url.split(separator: ":").last.map { String($0.prefix { $0.isNumber }) } ?? "?"
        #expect(failed.stderr.contains("127.0.0.1:\(port)"), "stderr: \(failed.stderr)")
        #expect(!failed.stderr.contains("firn:firn"), "the password is shown: \(failed.stderr)")
        #expect(failed.stderr.split(separator: "\n").count == 1, "stderr: \(failed.stderr)")

        _ = try Self.start(server)
        let loaded = try FirnProcess.run(["load", "--warehouse", warehouse, "--data-dir", dir.path, file], seconds: 60)
        #expect(loaded.status == 0, "stderr: \(loaded.stderr)")
        #expect(loaded.stdout.contains("loaded"), "stdout: \(loaded.stdout)")
        let again = try FirnProcess.run(["load", "--warehouse", warehouse, "--data-dir", dir.path, file], seconds: 60)
        #expect(again.stdout.contains("skipped"), "stdout: \(again.stdout)")
        let history = try FirnProcess.run(
            ["query", "--warehouse", warehouse, "--format", "csv", "SELECT count(*) FROM firn_loads"],
            seconds: 60
        )
        #expect(history.stdout.hasSuffix("\r\n1\r\n"), "stdout: \(history.stdout)")
    }
}

struct FirnCommandTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
