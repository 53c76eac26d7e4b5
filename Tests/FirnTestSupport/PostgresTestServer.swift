import FirnPostgresWarehouse
import Foundation

/// The backends the contract suites run on.
public enum TestBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }
}

/// The PostgreSQL 15 server the tests run against: the one `scripts/test` started
/// (`FIRN_TEST_POSTGRES_URL`), or else one this test process starts with
/// `scripts/postgres-server` in a temporary folder (installing PostgreSQL if it is missing),
/// stopped by a watchdog once the process is gone. Each test warehouse gets a schema of its own.
public enum PostgresTestServer {
    private static let started = StartOnce()

    /// The server's URL (`postgres://firn:firn@127.0.0.1:PORT/firn`).
    public static func url() throws -> String {
        if let url = ProcessInfo.processInfo.environment["FIRN_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        return try started.url()
    }

    /// A location on the server with a schema no other test uses.
    public static func freshSchema() async throws -> PostgresLocation {
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let base = try url()
        let separator = base.contains("?") ? "&" : "?"
        return try PostgresLocation(parsing: base + separator + "sslmode=disable&schema=" + schema, environment: [:])
    }

    /// Runs SQL with `psql`, as another client (in the location's schema).
    public static func psql(_ location: PostgresLocation, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
            "postgres://\(location.user)@\(location.host):\(location.port)/\(location.database)",
            "-c", "SET search_path TO \(location.schema); \(sql)",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = location.password ?? ""
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw PostgresTestServerError("psql failed: \(message)")
        }
    }

    /// The repository's `scripts/postgres-server`.
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/postgres-server").path
    }

    private final class StartOnce: @unchecked Sendable {
        private let lock = NSLock()
        private var result: Result<String, any Error>?

        func url() throws -> String {
            lock.lock()
            defer { lock.unlock() }
            if let result { return try result.get() }
            let outcome = Result { try start() }
            result = outcome
            return try outcome.get()
        }

        private func start() throws -> String {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-pg-\(getpid())").path
            let output = directory + ".url"
            let log = directory + ".log"
            // Output to files, not pipes (the server the script starts must not hold them open), and
            // system(3) rather than Process, whose exit monitoring can miss the end of a short child.
            let script = PostgresTestServer.script
            let status = system("bash '\(script)' start '\(directory)' >'\(output)' 2>'\(log)' </dev/null")
            let url = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            guard status == 0, !url.isEmpty else {
                let message = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw PostgresTestServerError(
                    "scripts/postgres-server start failed: \(message.split(separator: "\n").suffix(5).joined(separator: " | "))"
                )
            }
            // Stop the server once this test process is gone.
            _ = system(
                "(while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; bash '\(script)' stop '\(directory)') "
                    + ">/dev/null 2>&1 </dev/null &"
            )
            return url.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}

/// The test server could not be started or used.
public struct PostgresTestServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension TestBackend {
    /// How many generated cases a property test runs on this backend: all of `count` on
    /// SQLite; three in ten on PostgreSQL, where each case's fresh schema costs a few hundred
    /// milliseconds of DDL (a failure prints its seed either way).
    public func cases(_ count: Int) -> Int {
        self == .postgres ? max(1, count * 3 / 10) : count
    }
}
