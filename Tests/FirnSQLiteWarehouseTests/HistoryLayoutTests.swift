import FirnCore
import FirnTestSupport
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import GRDB
import Testing

/// `customer_history` is a view over the closed versions and SCD1 (see
/// `EntitySchema+History.swift`); a warehouse written with the earlier layout, where it was a
/// table of every version, moves over when opened.
@Suite struct HistoryLayoutTests {
    static let attributeDefinitions = TestWarehouse.attributeNames.map { "\($0) TEXT" }.joined(separator: ", ")

    /// Rewrites a warehouse file into the earlier layout: history as one table, no closed-version
    /// table, no rows saved before DML.
    static func rewriteAsEarlierLayout(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE earlier (customer_id INTEGER NOT NULL, \(attributeDefinitions),
                        start_time TEXT NOT NULL, end_time TEXT NOT NULL, is_current INTEGER NOT NULL,
                        PRIMARY KEY (customer_id, start_time)) WITHOUT ROWID;
                    INSERT INTO earlier SELECT * FROM customer_history;
                    DROP VIEW customer_history;
                    DROP TABLE customer_history_closed;
                    DROP TABLE customer_before_dml;
                    DROP TRIGGER customer_save_insert;
                    DROP TRIGGER customer_save_update;
                    DROP TRIGGER customer_save_delete;
                    DROP TRIGGER customer_stream_insert;
                    DROP TRIGGER customer_stream_update;
                    DROP TRIGGER customer_stream_delete;
                    ALTER TABLE earlier RENAME TO customer_history;
                    DROP TABLE firn_schema_versions;
                    """
            )
            // A user's view of history, and an unrelated view that no longer works: moving over
            // must leave the first reading the new history and not trip over the second.
            try db.execute(
                sql: """
                    CREATE VIEW open_versions AS SELECT * FROM customer_history WHERE is_current = 1;
                    CREATE TABLE gone (x); CREATE VIEW broken AS SELECT x FROM gone; DROP TABLE gone;
                    """
            )
            // The stream's triggers as they were: they only logged the change.
            let columns = ["customer_id"] + TestWarehouse.attributeNames + ["update_timestamp"]
            let old = columns.map { "old_" + $0 }
            let new = columns.map { "new_" + $0 }
            for (event, names, values) in [
                ("INSERT", new, columns.map { "NEW." + $0 }),
                ("UPDATE", old + new, columns.map { "OLD." + $0 } + columns.map { "NEW." + $0 }),
                ("DELETE", old, columns.map { "OLD." + $0 }),
            ] {
                try db.execute(
                    sql: """
                        CREATE TRIGGER customer_stream_\(event.lowercased()) AFTER \(event) ON customer
                        WHEN (SELECT origin FROM firn_context) IS NOT 'pipeline'
                        BEGIN
                            INSERT INTO customer_changes (action, changed_at, \(names.joined(separator: ", ")))
                            VALUES ('\(event)', strftime('%Y-%m-%d %H:%M:%f', 'now') || '000', \(values.joined(separator: ", ")));
                        END
                        """
                )
            }
        }
        try queue.close()
    }

    static func rows(_ warehouse: SQLiteWarehouse, _ sql: String) async throws -> [[Cell]] {
        try await warehouse.query(sql).result.rows.map { $0.map(Cell.init) }
    }

    @Test func historyIsAViewOfClosedVersionsAndSCD1() async throws {
        let store = try TestWarehouse()
        let ann = person("Ann")
        let bob = person("Bob")
        let rows = [
            Draft(key: 1, time: at(10), operation: .upsert, attributes: ann),
            Draft(key: 1, time: at(20), operation: .upsert, attributes: bob),
            Draft(key: 2, time: at(10), operation: .upsert, attributes: bob),
            Draft(key: 2, time: at(30), operation: .delete, attributes: bob),
        ]
        try await store.load(TestFile(name: "a.csv", checksum: "a", rows: rows))
        let kind = try await store.warehouse.query("SELECT type FROM sqlite_master WHERE name = 'customer_history'")
        #expect(kind.result.rows == [[.text("view")]])
        let closed = try await Self.rows(
            store.sqlite,
            "SELECT customer_id, start_time, end_time FROM customer_history_closed"
        )
        #expect(
            closed.sorted { $0.description < $1.description } == [
                [.integer(1), Cell(at(10).value), Cell(at(20).value)],
                [.integer(2), Cell(at(10).value), Cell(at(30).value)],
            ]
        )
        let history = try await store.historyRows()
        #expect(
            history.map { [$0[0], $0[8], $0[10]] } == [
                [.integer(1), Cell(at(10).value), .integer(0)],
                [.integer(1), Cell(at(20).value), .integer(1)],
                [.integer(2), Cell(at(10).value), .integer(0)],
            ]
        )
        await #expect(invariantViolations(history: history, current: try store.currentRows()) == [])
        // A key's versions come through the view by key, as `firn history` reads them.
        await #expect(try store.warehouse.history(of: Key(1)).rows.count == 2)
    }

    /// Generated loads, then manual DML the stream has not taken in yet; the file is copied and
    /// the copy rewritten into the earlier layout. Opened, the copy shows the same history and
    /// SCD1, and consuming the stream then gives both the same tables.
    @Test func warehouseOfTheEarlierLayoutMovesOver() async throws {
        for seed in caseSeeds(count: 12, salt: 11) {
            var rng = SeededGenerator(seed: seed)
            let store = try TestWarehouse()
            for file in SCDCases.files(SCDCases.drafts(&rng, distinctTimes: false), &rng) {
                try await store.load(file, chunkSizes: SCDCases.chunkSizes(&rng))
            }
            for _ in 0..<rng.int(0...4) { _ = try await store.warehouse.query(ManualDMLCases.statement(&rng)) }
            let history = try await store.historyRows()
            let current = try await store.currentRows()

            let copy = store.directory.appendingPathComponent("earlier.sqlite").path
            let source = try DatabaseQueue(path: store.directory.appendingPathComponent("firn.sqlite").path)
            try source.inDatabase { db in try db.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
            try source.close()
            try Self.rewriteAsEarlierLayout(copy)

            var configuration = SQLiteConfiguration()
            configuration.isDurable = false
            let moved = try SQLiteWarehouse(path: copy, configuration: configuration)
            await #expect(try Self.rows(moved, TestWarehouse.historySQL) == history, "seed \(seed)")
            await #expect(try Self.rows(moved, TestWarehouse.currentSQL) == current, "seed \(seed)")
            let kind = try await moved.query("SELECT type FROM sqlite_master WHERE name = 'customer_history'")
            #expect(kind.result.rows == [[.text("view")]], "seed \(seed)")
            let open = try await Self.rows(moved, "SELECT count(*) FROM open_versions")
            #expect(open == [[.integer(Int64(history.filter { $0[10] == .integer(1) }.count))]], "seed \(seed)")

            try await store.warehouse.consumeStream()
            try await moved.consumeStream()
            await #expect(try Self.rows(moved, TestWarehouse.historySQL) == store.historyRows(), "seed \(seed)")
            await #expect(try Self.rows(moved, TestWarehouse.currentSQL) == store.currentRows(), "seed \(seed)")
            await #expect(try moved.query("SELECT count(*) FROM customer_before_dml").result.rows == [[.integer(0)]])
            await #expect(
                invariantViolations(history: try store.historyRows(), current: try store.currentRows()) == [],
                "seed \(seed)"
            )
        }
    }
}
