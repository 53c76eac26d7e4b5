import FirnCore
import Foundation
import Testing

/// `firn run` with two entities routed by landing sub-folder, a column appearing part way
/// through one of them, SIGKILLed at random moments and restarted: the tables equal `firn load`
/// of the same files in the order the flow applied them, and the schema history shows the
/// change once.
@MainActor @Suite(.serialized) struct SeveralEntitiesCrashTests {
    static let config = """
        entities:
          - route: customers/
          - name: orders
            keys: [{ name: order_id, type: integer }]
            attributes: [{ name: amount, type: decimal }, { name: status }, { name: points, type: integer }]
            route: orders/
        reader:
          chunk_rows: 5000

        """

    /// `files` order files of `rows` rows over 600 orders: updates, deletes, late records,
    /// NULLs; `points` holds integers, and from the 25th file on decimals too (the column
    /// widens part way).
    static func orderFiles(_ files: Int, rows: Int, seed: UInt64) -> [String] {
        var random = SplitMix64(seed: seed)
        let statuses = ["open", "paid", "shipped", "\"held, see note\"", ""]
        return (0..<files).map { file in
            var text = "order_id,amount,status,update_timestamp,op,points\n"
            for row in 0..<rows {
                let minute = file * rows + row - (random.next() % 8 == 0 ? Int(random.next() % 600) : 0)
                let time = String(format: "2026-02-%02d %02d:%02d:00", 1 + minute / 1440, minute / 60 % 24, minute % 60)
                let amount = random.next() % 9 == 0 ? "" : "\(random.next() % 100_000 / 100).\(random.next() % 100)"
                let op = random.next() % 25 == 0 ? "D" : "U"
                let whole = random.next() % 50
                let points = file >= 25 && row % 4 == 0 ? "\(whole).5" : "\(whole)"
                text +=
                    "\(random.next() % 600 + 1),\(amount),\(statuses[Int(random.next() % 5)]),\(time),\(op),\(points)\n"
            }
            return text
        }
    }

    @Test func twoEntitiesByFolderSigkilledThenRestartedEqualFirnLoad() throws {
        try Self.killRunThenCompare(postgres: false)
    }

    /// The same with both entities' tables in one PostgreSQL schema (a schema each for the
    /// clean and the crashed run).
    @Test func twoEntitiesByFolderOnPostgreSQLSigkilledThenRestartedEqualFirnLoad() throws {
        try Self.killRunThenCompare(postgres: true)
    }

    /// 40 files of `rowsPerFile` rows for each entity (fewer rows on PostgreSQL, where each
    /// process's start and each query costs more).
    static func killRunThenCompare(postgres: Bool) throws {
        let rowsPerFile = postgres ? 250 : 500
        let work = try FirnProcess.temporaryDirectory(postgres ? "crash-entities-pg" : "crash-entities")
        var stopServer = {}
        defer {
            stopServer()
            FirnProcess.remove(work)
        }
        let config = work.appendingPathComponent("firn.yaml")
        try Self.config.write(to: config, atomically: true, encoding: .utf8)

        // 40 customer files (from the 20th on with a column `tier`) and 40 order files (from the
        // 25th on with decimal points, which widens the integer column).
        let source = work.appendingPathComponent("source")
        let whole = work.appendingPathComponent("whole.csv")
        try CrashRecoveryTests.writeWorkload(to: whole, rows: 40 * rowsPerFile, keys: 1_000, seed: 12)
        let lines = try String(contentsOf: whole, encoding: .utf8).split(separator: "\n")
        var files: [(folder: String, name: String, text: String)] = []
        for (index, start) in stride(from: 1, to: lines.count, by: rowsPerFile).enumerated() {
            var header = String(lines[0])
            var rows = lines[start..<min(lines.count, start + rowsPerFile)].map(String.init)
            if index >= 20 {
                header += ",tier"
                rows = rows.enumerated().map { row, line in line + "," + ["gold", "silver", ""][row % 3] }
            }
            files.append(
                ("customers", String(format: "c-%03d.csv", index), ([header] + rows).joined(separator: "\n") + "\n")
            )
        }
        for (index, text) in Self.orderFiles(40, rows: rowsPerFile, seed: 5).enumerated() {
            files.append(("orders", String(format: "o-%03d.csv", index), text))
        }
        var paths: [String] = []
        for file in files {
            let folder = source.appendingPathComponent(file.folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try file.text.write(to: folder.appendingPathComponent(file.name), atomically: true, encoding: .utf8)
            paths.append(folder.appendingPathComponent(file.name).path)
        }

        let (clean, crashed, stop) = try CrashRecoveryTests.cleanAndCrashed(
            work,
            base: ["--config", config.path],
            postgres: postgres
        )
        stopServer = stop

        // Every file lands before the first start (renamed in, as a producer would).
        let landing = work.appendingPathComponent("crashed/landing")
        for file in files {
            let folder = landing.appendingPathComponent(file.folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let temporary = folder.appendingPathComponent("." + file.name)
            try file.text.write(to: temporary, atomically: false, encoding: .utf8)
            try FileManager.default.moveItem(at: temporary, to: folder.appendingPathComponent(file.name))
        }
        func start() throws -> Process {
            let process = Process()
            process.executableURL = FirnProcess.executable
            process.arguments = ["run"] + crashed + ["--no-http"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        // Asked while `firn run` works: until its first start has made the warehouse there is
        // none; any other failure is a bug (a query once failed while a column was added).
        func loadedFiles() throws -> Int {
            let sql = "SELECT count(*) FROM firn_loads WHERE status = 'loaded'"
            let output = try FirnProcess.run(["query"] + crashed + ["--format", "csv", sql])
            if output.status != 0,
                output.stderr.contains("no warehouse at") || output.stderr.contains("no Firn warehouse")
            {
                return 0
            }
            #expect(output.status == 0, "\(output.stderr)")
            return Int(output.stdout.split(whereSeparator: \.isNewline).last ?? "") ?? 0
        }
        var generator = SystemRandomNumberGenerator()
        var loadedAfterKills: [Int] = []
        for _ in 0..<5 {
            // Killed a moment after its first commit (however slow the machine is today), or
            // at once when the backlog is done.
            let before = try loadedFiles()
            let process = try start()
            let patience = Date().addingTimeInterval(60)
            while before < files.count, try loadedFiles() == before, Date() < patience { usleep(20_000) }
            usleep(UInt32.random(in: 0...400_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            loadedAfterKills.append(try loadedFiles())
        }
        let last = try start()
        let deadline = Date().addingTimeInterval(180)
        while try loadedFiles() < files.count, Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        kill(last.processIdentifier, SIGTERM)
        last.waitUntilExit()
        #expect(
            loadedAfterKills.contains { $0 > 0 && $0 < files.count },
            "no kill cut the backlog short (files loaded after each: \(loadedAfterKills)); make it larger"
        )

        // `firn load` of the same files in the order the flow applied them (each file is one
        // chunk here): ingest uploads several files at once, so they reach the pipe in the
        // order their uploads end, a restart resumes files begun before the kill in its own
        // order, and records of one key at one event time count in arrival order, the order
        // their chunks were applied (DESIGN.md, section 3).
        let applied = """
            SELECT l.file_name FROM firn_loads l JOIN firn_chunks c ON c.load_id = l.load_id
            GROUP BY l.load_id, l.file_name ORDER BY min(c.chunk_id)
            """
        let order = try FirnProcess.csv(crashed, applied)
            .split(whereSeparator: \.isNewline).dropFirst().map { key in
                let parts = key.split(separator: "/")
                return source.appendingPathComponent(parts.suffix(2).joined(separator: "/")).path
            }
        #expect(Set(order) == Set(paths))
        let loaded = try FirnProcess.run(["load"] + clean + order)
        #expect(loaded.status == 0, "\(loaded.stdout)\(loaded.stderr)")

        let raw = { (table: String, columns: String) in
            "SELECT \(columns), count(*) FROM \(table) GROUP BY \(columns) ORDER BY \(columns)"
        }
        let tables = [
            "SELECT * FROM customer ORDER BY customer_id",
            "SELECT * FROM customer_history ORDER BY customer_id, start_time",
            "SELECT * FROM orders ORDER BY order_id",
            "SELECT * FROM orders_history ORDER BY order_id, start_time",
            raw("customer_raw", "source_row, customer_id, first_name, city, email, update_timestamp, op, tier"),
            raw("orders_raw", "source_row, order_id, amount, status, update_timestamp, op, points"),
            "SELECT entity, version, change, column_name, column_type FROM firn_schema_history ORDER BY entity, version",
            "SELECT count(*), sum(rows_loaded), sum(rows_rejected) FROM firn_loads WHERE status = 'loaded'",
        ]
        for sql in tables {
            #expect(try FirnProcess.csv(crashed, sql) == FirnProcess.csv(clean, sql), "\(sql)")
        }
        #expect(
            try FirnProcess.csv(
                crashed,
                "SELECT entity, change, column_name, column_type FROM firn_schema_history ORDER BY entity, version"
            ) == "entity,change,column_name,column_type\r\ncustomer,add,tier,text\r\norders,widen,points,decimal\r\n",
            "the column was added once, and the other widened once"
        )
        #expect(
            try FirnProcess.value(crashed, "SELECT count(*) FROM firn_loads") == "\(files.count)",
            "one row per file"
        )
        // One file's journey, with no --entity: the file's route picks it.
        let journey = try FirnProcess.run(["provenance"] + crashed + ["o-007.csv"])
        #expect(
            journey.status == 0 && journey.stdout.hasPrefix("orders/o-007.csv\n"),
            "\(journey.stdout)\(journey.stderr)"
        )
        #expect(journey.stdout.contains("archive/") && journey.stdout.contains("  loaded "), "\(journey.stdout)")
        let archived = try FileManager.default.subpathsOfDirectory(
            atPath: work.appendingPathComponent("crashed/archive").path
        )
        #expect(archived.filter { $0.hasSuffix(".csv") }.count == files.count)
    }
}
