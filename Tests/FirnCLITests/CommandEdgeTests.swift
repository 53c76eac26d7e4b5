import Foundation
import Testing

/// Commands given what a careless or hostile user gives them: one line, exit non-zero, nothing
/// half-done, no stack trace.
@MainActor @Suite struct CommandEdgeTests {
    static func expectOneLineError(_ output: FirnProcess.Output, containing text: String, _ comment: String = "") {
        #expect(output.status != 0, "\(comment) should fail; stdout: \(output.stdout)")
        #expect(output.stderr.contains(text), "\(comment) stderr: \(output.stderr)")
        #expect(!output.stderr.contains("Fatal error") && !output.stderr.contains("Stack dump"), "\(output.stderr)")
    }

    @Test func aLandingDirectoryHoldingFirnsOwnFilesIsRefused() throws {
        let dir = try FirnProcess.temporaryDirectory("landing-overlap")
        defer { FirnProcess.remove(dir) }
        let data = dir.appendingPathComponent("data").path
        let load = try FirnProcess.run(["load", "--data-dir", data, FirnProcess.examples.appendingPathComponent("customers-1.csv").path])
        #expect(load.status == 0, "\(load.stderr)")
        let cases: [(String, [String])] = [
            ("landing = data dir", ["--landing", data]),
            ("landing contains data dir", ["--landing", dir.path]),
            ("landing = bucket", ["--landing", data + "/bucket"]),
            ("landing = data dir, other spelling", ["--landing", data + "/./landing/.."]),
            ("landing contains the warehouse", ["--landing", dir.path + "/elsewhere", "--warehouse", "sqlite:" + dir.path + "/elsewhere/w.sqlite"]),
        ]
        for (label, flags) in cases {
            // Ingest runs until stopped: one that started after all is killed after fifteen seconds.
            let run = try FirnProcess.run(["ingest", "--data-dir", data] + flags, seconds: 15)
            Self.expectOneLineError(run, containing: "landing directory", label)
            #expect(run.stderr.split(separator: "\n").count == 1, "\(label): \(run.stderr)")
        }
        // Nothing was taken: the warehouse still holds what was loaded.
        let count = try FirnProcess.run(["query", "--data-dir", data, "--format", "csv", "SELECT count(*) FROM customer"])
        #expect(count.stdout == "count(*)\r\n5\r\n", "\(count.stdout) \(count.stderr)")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/shm"), "needs /dev/shm, another file system"))
    func aLandingDirectoryOnAnotherFileSystemIsRefused() throws {
        let dir = try FirnProcess.temporaryDirectory("landing-device")
        defer { FirnProcess.remove(dir) }
        let landing = "/dev/shm/firn-landing-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: landing) }
        var tmp = stat()
        var shm = stat()
        guard stat(dir.path, &tmp) == 0, stat("/dev/shm", &shm) == 0, tmp.st_dev != shm.st_dev else { return }
        let run = try FirnProcess.run(["ingest", "--data-dir", dir.path, "--landing", landing], seconds: 15)
        Self.expectOneLineError(run, containing: "another file system")
    }

    @Test func dataFilesAreReadableByTheirOwnerOnly() throws {
        let dir = try FirnProcess.temporaryDirectory("permissions")
        defer { FirnProcess.remove(dir) }
        let data = dir.appendingPathComponent("data").path
        let generate = try FirnProcess.run(["generate", "--data-dir", data, "--files", "1", "--rows-per-file", "10", "--rate", "1000"])
        #expect(generate.status == 0, "\(generate.stderr)")
        let load = try FirnProcess.run(["load", "--data-dir", data, FirnProcess.examples.appendingPathComponent("customers-1.csv").path])
        #expect(load.status == 0, "\(load.stderr)")
        let enumerator = FileManager.default.enumerator(atPath: data)!
        var checked = 0
        while let relative = enumerator.nextObject() as? String {
            let attributes = try FileManager.default.attributesOfItem(atPath: data + "/" + relative)
            let mode = (attributes[.posixPermissions] as? Int ?? 0o777) & 0o077
            #expect(mode == 0, "\(relative) is readable by others: \(String(attributes[.posixPermissions] as? Int ?? 0, radix: 8))")
            checked += 1
        }
        #expect(checked >= 3)
    }

    @Test func historyParsesTheKeyWithItsColumnsType() throws {
        let dir = try FirnProcess.temporaryDirectory("history-key")
        defer { FirnProcess.remove(dir) }
        let config = dir.appendingPathComponent("product.yaml")
        try """
            entity:
              name: product
              keys: [{ name: sku, type: decimal }, { name: valid, type: boolean }]
              attributes: [{ name: title, type: text }]
            """.write(to: config, atomically: true, encoding: .utf8)
        let file = dir.appendingPathComponent("p.csv")
        try "sku,valid,title,update_timestamp,op\n1.50,true,Tea,2026-01-01T00:00:00Z,I\n".write(
            to: file, atomically: true, encoding: .utf8)
        let common = ["--data-dir", dir.path + "/data", "--config", config.path]
        let load = try FirnProcess.run(["load"] + common + [file.path])
        #expect(load.status == 0, "\(load.stderr)")
        let history = try FirnProcess.run(["history"] + common + ["--format", "csv", "1.500|yes"])
        #expect(history.status == 0, "\(history.stderr)")
        #expect(history.stdout.contains("Tea"), "\(history.stdout)")
        let bad = try FirnProcess.run(["history"] + common + ["abc|yes"])
        Self.expectOneLineError(bad, containing: "abc")
    }

    @Test func loadSaysWhatIsWrongWithDirectoriesStandardInputAndJSON() throws {
        let dir = try FirnProcess.temporaryDirectory("load-args")
        defer { FirnProcess.remove(dir) }
        let data = ["--data-dir", dir.path + "/data"]
        Self.expectOneLineError(try FirnProcess.run(["load"] + data + [dir.path]), containing: "is a directory")
        Self.expectOneLineError(try FirnProcess.run(["load"] + data + ["-"]), containing: "standard input")
        let array = dir.appendingPathComponent("array.json")
        try #"[{"customer_id": 1, "op": "I", "update_timestamp": "2026-01-01T00:00:00Z"}]"#.write(
            to: array, atomically: true, encoding: .utf8)
        Self.expectOneLineError(try FirnProcess.run(["load"] + data + [array.path]), containing: "JSON Lines")
        // JSON Lines named .json loads as JSON Lines.
        let lines = dir.appendingPathComponent("lines.json")
        try #"{"customer_id": 1, "first_name": "Ada", "op": "I", "update_timestamp": "2026-01-01T00:00:00Z"}"#.write(
            to: lines, atomically: true, encoding: .utf8)
        let load = try FirnProcess.run(["load"] + data + [lines.path])
        #expect(load.status == 0 && load.stdout.contains("loaded 1 rows"), "\(load.stdout) \(load.stderr)")
    }

    @Test func readCommandsOnAMissingWarehouseSaySoAndCreateNothing() throws {
        let dir = try FirnProcess.temporaryDirectory("missing")
        defer { FirnProcess.remove(dir) }
        let typo = dir.appendingPathComponent("frin-data").path
        let commands: [[String]] = [
            ["query", "SELECT 1"], ["history", "1"], ["as-of", "2026-01-01T00:00:00Z"], ["copy-history"],
            ["rejects"], ["stream", "show"], ["provenance", "x.csv"], ["task", "history"],
        ]
        for command in commands {
            let run = try FirnProcess.run(command + ["--data-dir", typo])
            Self.expectOneLineError(run, containing: "no warehouse at", command.joined(separator: " "))
        }
        #expect(!FileManager.default.fileExists(atPath: typo))
    }

    @Test func queryRunsAllOrNothingAndRefusesBookkeepingWrites() throws {
        let dir = try FirnProcess.temporaryDirectory("query-guard")
        defer { FirnProcess.remove(dir) }
        let data = ["--data-dir", dir.path]
        #expect(try FirnProcess.run(["load"] + data + [FirnProcess.examples.appendingPathComponent("customers-1.csv").path]).status == 0)
        let refused: [(String, String)] = [
            ("BEGIN; UPDATE customer SET first_name = 'X'", "BEGIN"),
            ("SAVEPOINT a; UPDATE customer SET first_name = 'X'", "SAVEPOINT"),
            ("DELETE FROM firn_loads", "firn_loads"),
            ("UPDATE firn_pipe_objects SET status = 'x'", "firn_pipe_objects"),
            ("DELETE FROM firn_chunks", "firn_chunks"),
            ("DELETE FROM firn_tasks", "firn_tasks"),
            ("DELETE FROM customer_history_closed", "customer_history_closed"),
            ("DROP TABLE customer", "customer"),
            ("ALTER TABLE customer ADD COLUMN x TEXT", "customer"),
            ("DROP VIEW customer_history", "customer_history"),
            ("UPDATE customer SET first_name = 'Y'; DELETE FROM firn_loads", "firn_loads"),
        ]
        for (sql, name) in refused {
            Self.expectOneLineError(try FirnProcess.run(["query"] + data + [sql]), containing: name, sql)
        }
        // All or nothing: the second statement fails, so the first is rolled back.
        let failing = try FirnProcess.run(["query"] + data + ["UPDATE customer SET first_name = 'Z'; SELECT * FROM nowhere"])
        Self.expectOneLineError(failing, containing: "nowhere")
        let names = try FirnProcess.run(["query"] + data + ["--format", "csv", "SELECT count(*) FROM customer WHERE first_name IN ('X', 'Y', 'Z')"])
        #expect(names.stdout == "count(*)\r\n0\r\n", "\(names.stdout)")
        let loads = try FirnProcess.run(["query"] + data + ["--format", "csv", "SELECT count(*) FROM firn_loads"])
        #expect(loads.stdout == "count(*)\r\n1\r\n")
        // User tables are the user's; --read-only refuses every write.
        let own = try FirnProcess.run(["query"] + data + ["CREATE TABLE counts (n INTEGER); INSERT INTO counts SELECT count(*) FROM customer; DROP TABLE counts"])
        #expect(own.status == 0, "\(own.stderr)")
        Self.expectOneLineError(
            try FirnProcess.run(["query", "--read-only"] + data + ["CREATE TABLE t (x)"]), containing: "read-only")
        Self.expectOneLineError(
            try FirnProcess.run(["query", "--read-only"] + data + ["UPDATE customer SET first_name = 'R'"]), containing: "read-only")
        let read = try FirnProcess.run(["query", "--read-only"] + data + ["--format", "csv", "SELECT count(*) FROM customer_history"])
        #expect(read.status == 0 && read.stdout.hasPrefix("count(*)"), "\(read.stderr)")
    }

    @Test func severalLoadsOnAFreshDataDirectoryAllSucceed() throws {
        for attempt in 0..<3 {
            let dir = try FirnProcess.temporaryDirectory("fresh-concurrent")
            defer { FirnProcess.remove(dir) }
            let file = FirnProcess.examples.appendingPathComponent("customers-1.csv").path
            let started = try (0..<6).map { _ in try FirnProcess.start(["load", "--data-dir", dir.path, file]) }
            for (process, out, err) in started {
                let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                #expect(process.terminationStatus == 0, "attempt \(attempt): \(stdout) \(stderr)")
                #expect(!stderr.contains("locked"), "attempt \(attempt): \(stderr)")
            }
        }
    }

    /// Turning a new file to WAL mode does not wait on SQLite's busy timeout: a process that
    /// opens the warehouse while another holds the write lock on the fresh file must wait for it.
    @Test func theFirstOpenWaitsForAnotherProcesssLock() throws {
        let dir = try FirnProcess.temporaryDirectory("fresh-locked")
        defer { FirnProcess.remove(dir) }
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        holder.arguments = [dir.path + "/firn.sqlite", "BEGIN IMMEDIATE; CREATE TABLE held (x);", ".shell sleep 1.5", "COMMIT;"]
        try holder.run()
        Thread.sleep(forTimeInterval: 0.3)
        let load = try FirnProcess.run(
            ["load", "--data-dir", dir.path, FirnProcess.examples.appendingPathComponent("customers-1.csv").path])
        holder.waitUntilExit()
        #expect(load.status == 0 && load.stdout.contains("loaded 5 rows"), "\(load.stdout) \(load.stderr)")
    }

    /// `sqlite.page_size` in the config makes a new warehouse file with that page size; a file
    /// that exists keeps its own.
    @Test func theConfigSetsANewWarehousesPageSize() throws {
        let dir = try FirnProcess.temporaryDirectory("page-size")
        defer { FirnProcess.remove(dir) }
        let file = dir.appendingPathComponent("c.csv")
        try "customer_id,first_name,update_timestamp,op\n1,Ann,2026-01-01T00:00:00Z,I\n".write(
            to: file, atomically: true, encoding: .utf8)
        func pageSize(_ data: String, config size: Int) throws -> String {
            let config = dir.appendingPathComponent("firn-\(size).yaml")
            try "sqlite: { page_size: \(size) }\n".write(to: config, atomically: true, encoding: .utf8)
            let common = ["--data-dir", dir.path + "/" + data, "--config", config.path]
            let load = try FirnProcess.run(["load"] + common + [file.path])
            #expect(load.status == 0, "\(load.stderr)")
            let query = try FirnProcess.run(["query"] + common + ["--format", "csv", "SELECT page_size FROM pragma_page_size()"])
            #expect(query.status == 0, "\(query.stderr)")
            return query.stdout
        }
        #expect(try pageSize("small", config: 2048) == "page_size\r\n2048\r\n")
        #expect(try pageSize("large", config: 16384) == "page_size\r\n16384\r\n")
        // The file made with 2 KiB pages keeps them.
        #expect(try pageSize("small", config: 4096) == "page_size\r\n2048\r\n")
        // A PostgreSQL warehouse named on the command line would ignore the setting: refused
        // before any connection is tried.
        let config = dir.appendingPathComponent("firn-2048.yaml").path
        let postgres = try FirnProcess.run(
            ["load", "--config", config, "--warehouse", "postgres://firn@127.0.0.1:1/none", file.path]
        )
        Self.expectOneLineError(postgres, containing: "sqlite.page_size is for an SQLite warehouse")
    }

    @Test func aChangedEntitySaysWhatChanged() throws {
        let dir = try FirnProcess.temporaryDirectory("entity-changed")
        defer { FirnProcess.remove(dir) }
        func config(_ name: String, _ attributes: String) throws -> String {
            let url = dir.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(4)).yaml")
            try """
                entity:
                  name: \(name)
                  keys: [{ name: sku, type: text }]
                  attributes: [\(attributes)]
                """.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        let data = ["--data-dir", dir.path + "/data"]
        let first = try config("product", "{ name: title, type: text }, { name: price, type: decimal }")
        #expect(try FirnProcess.run(["query"] + data + ["--config", first, "SELECT 1"]).status != 0)  // no warehouse yet
        let file = dir.appendingPathComponent("p.csv")
        try "sku,title,price,update_timestamp,op\nA,Tea,1.5,2026-01-01T00:00:00Z,I\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try FirnProcess.run(["load"] + data + ["--config", first, file.path]).status == 0)
        let changed = try config("product", "{ name: title, type: text }, { name: price, type: integer }, { name: colour, type: text }")
        let run = try FirnProcess.run(["load"] + data + ["--config", changed, file.path])
        Self.expectOneLineError(run, containing: "colour text is new")
        #expect(run.stderr.contains("price was decimal, now integer"), "\(run.stderr)")
        #expect(!run.stderr.contains("SQLite error"), "\(run.stderr)")
        // The same entity in another case is the same entity, not a second one.
        let upper = try config("Product", "{ name: Title, type: text }, { name: PRICE, type: decimal }")
        let same = try FirnProcess.run(["query"] + data + ["--config", upper, "--format", "csv", "SELECT count(*) FROM product"])
        #expect(same.status == 0 && same.stdout == "count(*)\r\n1\r\n", "\(same.stdout) \(same.stderr)")
        let again = try FirnProcess.run(["load"] + data + ["--config", upper, file.path])
        #expect(again.stdout.contains("skipped"), "\(again.stdout) \(again.stderr)")
    }
}
