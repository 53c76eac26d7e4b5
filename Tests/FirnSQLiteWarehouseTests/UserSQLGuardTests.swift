import FirnCore
import FirnTestSupport
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import Testing

/// User SQL (`firn query`, SQL tasks) cannot break Firn's bookkeeping, runs all or nothing, and
/// cannot leave a transaction open.
@Suite struct UserSQLGuardTests {
    func refusal(_ sql: String, on warehouse: SQLiteWarehouse, readOnly: Bool = false) async -> String? {
        do {
            _ = try await warehouse.query(sql, readOnly: readOnly)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func transactionControlIsRefusedAndNothingIsLeftOpen() async throws {
        let test = try TestWarehouse()
        for sql in ["BEGIN", "BEGIN IMMEDIATE; UPDATE customer SET first_name = 'x'", "SAVEPOINT s", "COMMIT", "END", "ROLLBACK", "RELEASE s"] {
            let reason = await refusal(sql, on: test.sqlite)
            #expect(reason?.contains("one transaction") == true, "\(sql): \(reason ?? "accepted")")
        }
        // The warehouse still takes writes: no transaction was left open.
        _ = try await test.warehouse.query("CREATE TABLE mine (x INTEGER); INSERT INTO mine VALUES (1)")
        await #expect(try test.warehouse.query("SELECT count(*) FROM mine").result.rows == [[.integer(1)]])
    }

    @Test func bookkeepingIsReadOnlyAndFirnsSchemaIsFixed() async throws {
        let test = try TestWarehouse()
        for table in [
            "firn_loads", "firn_chunks", "firn_rejects", "firn_pipe_objects", "firn_tasks", "firn_task_runs",
            "firn_streams", "firn_context", "firn_entities", "customer_raw", "customer_unchanged",
            "customer_history_closed", "customer_changes", "customer_before_dml",
        ] {
            #expect(await refusal("DELETE FROM \(table)", on: test.sqlite)?.contains(table) == true, "\(table)")
            #expect(await refusal("DROP TABLE \(table)", on: test.sqlite)?.contains(table) == true, "\(table)")
        }
        for sql in [
            "DROP TABLE customer", "ALTER TABLE customer RENAME TO c2", "ALTER TABLE customer ADD COLUMN x",
            "CREATE TRIGGER t AFTER INSERT ON customer BEGIN SELECT 1; END", "DROP VIEW customer_history",
            "CREATE INDEX i ON firn_loads (status)", "PRAGMA writable_schema = ON", "PRAGMA journal_mode = DELETE",
        ] {
            #expect(await refusal(sql, on: test.sqlite) != nil, "\(sql) was accepted")
        }
        // SCD1 stays writable, and its manual DML still reaches history through the stream.
        _ = try await test.warehouse.query(
            "INSERT INTO customer (customer_id, first_name, update_timestamp) VALUES (7, 'Ada', '2026-01-01 00:00:00.000000')"
        )
        _ = try await test.warehouse.consumeStream()
        let history = try await test.warehouse.query("SELECT first_name FROM customer_history WHERE customer_id = 7")
        #expect(history.result.rows == [[.text("Ada")]])
        // PRAGMAs that only read are fine.
        #expect(await refusal("PRAGMA journal_mode", on: test.sqlite) == nil)
    }

    @Test func aFailingStatementRollsBackTheOnesBeforeIt() async throws {
        let test = try TestWarehouse()
        _ = try await test.warehouse.query("CREATE TABLE mine (x INTEGER)")
        await #expect(await refusal("INSERT INTO mine VALUES (1); INSERT INTO nowhere VALUES (2)", on: test.sqlite) != nil)
        await #expect(await refusal("INSERT INTO mine VALUES (1); DELETE FROM firn_loads", on: test.sqlite) != nil)
        await #expect(try test.warehouse.query("SELECT count(*) FROM mine").result.rows == [[.integer(0)]])
    }

    @Test func readOnlyRefusesEveryWrite() async throws {
        let test = try TestWarehouse()
        _ = try await test.warehouse.query("CREATE TABLE mine (x INTEGER)")
        for sql in ["INSERT INTO mine VALUES (1)", "UPDATE customer SET first_name = 'x'", "CREATE TABLE t (x)", "DROP TABLE mine"] {
            await #expect(await refusal(sql, on: test.sqlite, readOnly: true)?.contains("read-only") == true, "\(sql)")
        }
        await #expect(try test.warehouse.query("SELECT count(*) FROM mine", readOnly: true).result.rows == [[.integer(0)]])
    }

    @Test func sqlTasksAreGuardedToo() async throws {
        let test = try TestWarehouse()
        await #expect(throws: WarehouseError.self) { try await test.warehouse.runTaskSQL("DELETE FROM firn_task_runs") }
        await #expect(throws: WarehouseError.self) { try await test.warehouse.runTaskSQL("BEGIN; SELECT 1") }
        _ = try await test.warehouse.runTaskSQL("CREATE TABLE counts (n INTEGER); INSERT INTO counts SELECT count(*) FROM customer")
    }
}

/// A warehouse remembers the entity definition it was made for.
@Suite struct EntityDefinitionTests {
    static func entity(_ name: Identifier = "product", price: ColumnType = .decimal, extra: [Column] = []) throws
        -> EntityConfiguration
    {
        try EntityConfiguration(
            name: name, keyColumns: [Column("sku", .text)],
            attributeColumns: [Column("title", .text), Column("price", price)] + extra
        )
    }

    @Test func aChangedDefinitionSaysWhatChanged() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-def-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("w.sqlite").path
        _ = try SQLiteWarehouse(path: path, entity: try Self.entity())
        // The same definition, in another case and attribute order, opens.
        _ = try SQLiteWarehouse(
            path: path,
            entity: try EntityConfiguration(
                name: "PRODUCT", keyColumns: [Column("SKU", .text)],
                attributeColumns: [Column("Price", .decimal), Column("title", .text)]
            )
        )
        do {
            _ = try SQLiteWarehouse(path: path, entity: try Self.entity(price: .integer, extra: [Column("colour")]))
            Issue.record("a changed definition opened")
        } catch {
            #expect("\(error)".contains("attribute colour text is new"), "\(error)")
            #expect("\(error)".contains("price was decimal, now integer"), "\(error)")
            #expect(!"\(error)".contains("SQLite"), "\(error)")
        }
        // Another entity in the same file is fine.
        _ = try SQLiteWarehouse(path: path, entity: .customer)
    }

    @Test func aWarehouseFromBeforeTheRecordIsCheckedAgainstItsTables() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-def-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("w.sqlite").path
        do {
            let warehouse = try SQLiteWarehouse(path: path, entity: try Self.entity())
            _ = warehouse
        }
        // As a warehouse made before firn_entities existed.
        try Self.sqlite(path, "DROP TABLE firn_entities")
        do {
            _ = try SQLiteWarehouse(path: path, entity: try Self.entity(extra: [Column("colour")]))
            Issue.record("a changed definition opened")
        } catch {
            #expect("\(error)".contains("colour is new"), "\(error)")
        }
        _ = try SQLiteWarehouse(path: path, entity: try Self.entity())
    }

    static func sqlite(_ path: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path, sql]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
