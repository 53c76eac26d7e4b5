import FirnCore
import Foundation
import Testing

/// `firn load` killed with SIGKILL at random moments, then re-run, must leave exactly the
/// tables a clean run leaves: nothing lost, nothing doubled.
@MainActor @Suite(.serialized) struct CrashRecoveryTests {
    /// A deterministic change file: `rows` rows over `keys` keys, with updates, deletes,
    /// late records, NULLs, quotes and unicode.
    static func writeWorkload(to url: URL, rows: Int, keys: Int, seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        func next() -> UInt64 { random.next() }
        let cities = ["London", "Paris", "\"Quoted\" Town", "München", "東京", "São Paulo", "Comma, City", ""]
        var text = "customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op\n"
        text.reserveCapacity(rows * 110)
        for row in 0..<rows {
            let key = Int(next() % UInt64(keys)) + 1
            // Mostly increasing times; one in ten is late by up to a day.
            var minute = row
            if next() % 10 == 0 { minute -= Int(next() % 1440) }
            let hours = (minute + 100_000) / 60
            let time = String(
                format: "2026-%02d-%02dT%02d:%02d:00Z",
                1 + hours / 24 / 28,
                1 + hours / 24 % 28,
                hours % 24,
                (minute + 100_000) % 60
            )
            let op = next() % 20 == 0 ? "D" : "U"
            let city = cities[Int(next() % UInt64(cities.count))]
            let quotedCity = city.isEmpty ? "" : "\"" + city.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            let email = next() % 7 == 0 ? "" : "c\(key)-\(next() % 5)@example.com"
            text +=
                "\(key),First\(key),Last\(next() % 3),\(email),\(row) Main St,\(quotedCity),,Country,\(time),\(op)\n"
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// The tables at `place` (`--data-dir DIR` or `--warehouse URL`).
    static func snapshot(_ place: [String]) throws -> [String] {
        let queries = [
            "SELECT * FROM customer ORDER BY customer_id",
            "SELECT * FROM customer_history ORDER BY customer_id, start_time",
            """
            SELECT source_row, customer_id, first_name, last_name, email, street, city, state, country,
                update_timestamp, op FROM customer_raw ORDER BY source_row
            """,
            "SELECT count(*), count(DISTINCT source_row) FROM customer_raw",
            "SELECT source_row, reason FROM firn_rejects ORDER BY source_row",
            "SELECT file_name, status, rows_loaded, rows_rejected FROM firn_loads WHERE source = 'file'",
        ]
        return try queries.map { try FirnProcess.csv(place, $0) }
    }

    @Test func sigkillDuringLoadThenRerunEqualsCleanRun() throws {
        let work = try FirnProcess.temporaryDirectory("crash")
        defer { FirnProcess.remove(work) }
        try Self.killLoadsThenCompare(
            work,
            rows: 40_000,
            clean: ["--data-dir", work.appendingPathComponent("clean").path],
            crashed: ["--data-dir", work.appendingPathComponent("crashed").path]
        )
    }

    /// The same on PostgreSQL: each run a new process and new connections; a killed one's
    /// transaction is rolled back by the server.
    @Test func sigkillDuringLoadOnPostgreSQLThenRerunEqualsCleanRun() throws {
        let work = try FirnProcess.temporaryDirectory("crash-pg")
        let (url, stopServer) = try ScaleOutTests.serverURL(work)
        defer {
            stopServer()
            FirnProcess.remove(work)
        }
        let suffix = UUID().uuidString.prefix(8).lowercased()
        try Self.killLoadsThenCompare(
            work,
            rows: 20_000,
            clean: ["--warehouse", ScaleOutTests.warehouse(url, schema: "clean_\(suffix)"), "--data-dir", work.path],
            crashed: ["--warehouse", ScaleOutTests.warehouse(url, schema: "crashed_\(suffix)"), "--data-dir", work.path]
        )
    }

    /// Loads a generated file cleanly at `clean`; at `crashed`, starts the same load six times,
    /// killing each with SIGKILL after a random moment, then runs it to the end; both must
    /// leave the same tables.
    static func killLoadsThenCompare(_ work: URL, rows: Int, clean: [String], crashed: [String]) throws {
        let file = work.appendingPathComponent("changes.csv")
        try Self.writeWorkload(to: file, rows: rows, keys: 3_000, seed: 7)
        let config = work.appendingPathComponent("firn.yaml")
        try "reader:\n  chunk_rows: 400\n".write(to: config, atomically: true, encoding: .utf8)

        let cleanRun = try FirnProcess.run(["load", "--config", config.path] + clean + [file.path])
        #expect(cleanRun.status == 0, "\(cleanRun.stdout)\(cleanRun.stderr)")

        var generator = SystemRandomNumberGenerator()
        var killsMidLoad = 0
        for _ in 0..<6 {
            let (process, _, _) = try FirnProcess.start(["load", "--config", config.path] + crashed + [file.path])
            usleep(UInt32.random(in: 150_000...1_200_000, using: &generator))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killsMidLoad += 1
            }
            process.waitUntilExit()
        }
        let finish = try FirnProcess.run(["load", "--config", config.path] + crashed + [file.path])
        #expect(finish.status == 0, "\(finish.stdout)\(finish.stderr)")
        #expect(killsMidLoad > 0, "every load finished before it could be killed; make the workload larger")

        let expected = try Self.snapshot(clean)
        let actual = try Self.snapshot(crashed)
        for (index, (want, got)) in zip(expected, actual).enumerated() {
            #expect(want == got, "snapshot query \(index) differs after \(killsMidLoad) kills")
        }
    }

    /// `firn pipe` applying a backlog of small files several to a transaction, killed with
    /// SIGKILL at random moments and restarted: the tables equal `firn load` of the same files,
    /// and load history has one row per file.
    @Test func sigkillDuringMultiFileTransactionsThenRestartEqualsFirnLoad() throws {
        try Self.pipeKillsThenCompare(name: "crash-batch", evolveFrom: nil)
    }

    /// The same on PostgreSQL, whose files of a transaction are checked, staged and applied
    /// one after the other under one turn.
    @Test func sigkillDuringMultiFileTransactionsOnPostgreSQLThenRestartEqualsFirnLoad() throws {
        try Self.pipeKillsThenCompare(name: "crash-batch-pg", rows: 24_000, evolveFrom: nil, postgres: true)
    }

    /// The same while a column appears part way through the backlog (`schema_evolution:
    /// evolve`, the default): files from the 60th on have `tier`; the tables equal `firn load`'s,
    /// and schema history shows the change once.
    @Test func sigkillWhileAColumnAppearsThenRestartEqualsFirnLoad() throws {
        try Self.pipeKillsThenCompare(name: "crash-evolve", evolveFrom: 60)
    }

    /// The same on PostgreSQL.
    @Test func sigkillWhileAColumnAppearsOnPostgreSQLThenRestartEqualsFirnLoad() throws {
        try Self.pipeKillsThenCompare(name: "crash-evolve-pg", rows: 24_000, evolveFrom: 24, postgres: true)
    }

    /// Where a clean run and a crashed one keep their tables: data directories `clean` and
    /// `crashed` under `work`, and with `postgres` a schema each on the test run's server
    /// (`stop` stops a server started for the test).
    static func cleanAndCrashed(_ work: URL, base: [String] = [], postgres: Bool) throws
        -> (clean: [String], crashed: [String], stop: () -> Void)
    {
        var clean = base + ["--data-dir", work.appendingPathComponent("clean").path]
        var crashed = base + ["--data-dir", work.appendingPathComponent("crashed").path]
        guard postgres else { return (clean, crashed, {}) }
        let (url, stop) = try ScaleOutTests.serverURL(work)
        let suffix = UUID().uuidString.prefix(8).lowercased()
        clean += ["--warehouse", ScaleOutTests.warehouse(url, schema: "clean_\(suffix)")]
        crashed += ["--warehouse", ScaleOutTests.warehouse(url, schema: "crashed_\(suffix)")]
        return (clean, crashed, stop)
    }

    /// Splits a workload into 500-row files in a directory bucket (from file `evolveFrom` on
    /// with a column `tier`), loads them with `firn load`, and with `firn pipe` killed five times
    /// and restarted; both must leave the same tables (SQLite files, or two schemas on the test
    /// run's PostgreSQL server).
    static func pipeKillsThenCompare(name: String, rows: Int = 60_000, evolveFrom: Int?, postgres: Bool = false) throws {
        let work = try FirnProcess.temporaryDirectory(name)
        var stopServer = {}
        defer {
            stopServer()
            FirnProcess.remove(work)
        }
        let (clean, crashed, stop) = try Self.cleanAndCrashed(work, postgres: postgres)
        stopServer = stop
        let whole = work.appendingPathComponent("whole.csv")
        try Self.writeWorkload(to: whole, rows: rows, keys: 2_000, seed: 11)
        let lines = try String(contentsOf: whole, encoding: .utf8).split(separator: "\n")
        let bucket = work.appendingPathComponent("bucket")
        try FileManager.default.createDirectory(at: bucket, withIntermediateDirectories: true)
        var files: [String] = []
        for start in stride(from: 1, to: lines.count, by: 500) {
            let name = String(format: "changes-%03d.csv", files.count)
            var rows = lines[start..<min(lines.count, start + 500)].map(String.init)
            var header = String(lines[0])
            if let evolveFrom, files.count >= evolveFrom {
                header += ",tier"
                // A tier for most rows, none (NULL) for every third.
                rows = rows.enumerated().map { index, row in row + "," + ["gold", "silver", ""][index % 3] }
            }
            try ([header] + rows).joined(separator: "\n").appending("\n")
                .write(to: bucket.appendingPathComponent(name), atomically: true, encoding: .utf8)
            files.append(bucket.appendingPathComponent(name).path)
        }
        let config = work.appendingPathComponent("firn.yaml")
        // Ten files to a transaction.
        try "reader:\n  chunk_rows: 5000\n".write(to: config, atomically: true, encoding: .utf8)
        let loaded = try FirnProcess.run(["load", "--config", config.path] + clean + files)
        #expect(loaded.status == 0, "\(loaded.stderr)")

        func startPipe() throws -> Process {
            let process = Process()
            process.executableURL = FirnProcess.executable
            process.arguments =
                ["pipe", "--config", config.path, "--bucket", "file:" + bucket.path, "--no-http"] + crashed
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        func loadedFiles() throws -> Int {
            Int(try FirnProcess.value(crashed, "SELECT count(*) FROM firn_loads WHERE status = 'loaded'")) ?? 0
        }
        var generator = SystemRandomNumberGenerator()
        var killsMidBacklog = 0
        for _ in 0..<5 {
            let process = try startPipe()
            usleep(UInt32.random(in: 200_000...1_000_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // Counted after the kill: whether it cut the backlog short.
            if try loadedFiles() < files.count { killsMidBacklog += 1 }
        }
        let last = try startPipe()
        let deadline = Date().addingTimeInterval(120)
        while try loadedFiles() < files.count, Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        kill(last.processIdentifier, SIGTERM)
        last.waitUntilExit()
        #expect(killsMidBacklog > 0, "the backlog was loaded before any kill; make it larger")

        var tables = [
            "SELECT * FROM customer ORDER BY customer_id",
            "SELECT * FROM customer_history ORDER BY customer_id, start_time",
            """
            SELECT source_file, source_row, customer_id, first_name, city, update_timestamp, op
            FROM customer_raw ORDER BY source_file, source_row
            """,
            "SELECT customer_id, update_timestamp, source_row, latest_before FROM customer_late ORDER BY 1, 2, 3",
        ]
        if let evolveFrom {
            tables.append("SELECT source_file, source_row, tier FROM customer_raw ORDER BY source_file, source_row")
            let changes = "SELECT version, change, column_name, column_type, file_name FROM firn_schema_history"
            let first = String(format: "changes-%03d.csv", evolveFrom)
            #expect(
                try FirnProcess.csv(crashed, changes)
                    == "version,change,column_name,column_type,file_name\r\n1,add,tier,text,\(first)\r\n"
            )
            tables.append(changes)
        }
        for sql in tables {
            #expect(try FirnProcess.csv(crashed, sql) == FirnProcess.csv(clean, sql), "\(sql)")
        }
        let history = "SELECT count(*), count(DISTINCT file_name), sum(rows_loaded) FROM firn_loads WHERE status = 'loaded'"
        #expect(try FirnProcess.csv(crashed, history) == FirnProcess.csv(clean, history))
        #expect(try FirnProcess.value(crashed, "SELECT count(*) FROM firn_loads") == "\(files.count)", "one row per file")
    }
}
