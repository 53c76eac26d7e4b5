import FirnCore
import FirnTestSupport
import FirnWarehouse
import Testing

/// Manual DML on the SCD1 table reaches history through the stream, at the statement's time,
/// exactly once.
@Suite struct ManualDMLTests {
    static let a = person("Ann")
    static let b = person("Bob")
    static let c = person("Cai")

    static func upsert(_ key: Int64, _ attributes: [Value], at time: Timestamp) -> Draft {
        Draft(key: key, time: time, operation: .upsert, attributes: attributes)
    }

    /// A fresh warehouse holding key 1 = Ann and key 2 = Bob since `at(10)`.
    static func seeded(_ backend: TestBackend) async throws -> TestWarehouse {
        let store = try await TestWarehouse.open(backend)
        let rows = [upsert(1, a, at: at(10)), upsert(2, b, at: at(10))]
        try await store.load(TestFile(name: "seed.csv", checksum: "seed", rows: rows))
        return store
    }

    /// Runs `sql` and returns the statement-time window: SQLite's clock has millisecond
    /// precision, so the window's start is rounded down to the millisecond.
    static func run(_ sql: String, on store: TestWarehouse) async throws -> ClosedRange<Timestamp> {
        let before = Timestamp.now()
        _ = try await store.warehouse.query(sql)
        let after = Timestamp.now()
        let start = Timestamp(microseconds: before.microseconds - before.microseconds % 1000 - 1000)
        return start...Timestamp(microseconds: after.microseconds + 1000)
    }

    /// Starts of the key's versions, oldest first, and the stored rows.
    static func versions(of key: Int64, in store: TestWarehouse) async throws -> [[Value]] {
        try await store.warehouse.history(of: Key(key)).rows
    }

    static func time(_ value: Value) -> Timestamp? {
        if case .text(let text) = value { return Timestamp(canonical: text) }
        return nil
    }

    static func manual(
        _ key: Int64,
        _ attributes: [Value],
        at time: Timestamp,
        _ op: FirnCore.Operation = .upsert
    )
        -> ChangeRecord
    {
        ChangeRecord(
            key: Key(key),
            eventTime: time,
            operation: op,
            attributes: attributes,
            arrival: Arrival(load: 1_000_000, row: 1)
        )
    }

    /// Both tables equal the reference model over every record, file and manual.
    static func expectModel(_ store: TestWarehouse, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let history = try await store.historyRows()
        let current = try await store.currentRows()
        #expect(history == ReferenceModel.history(store.loaded).map(\.historyRow), sourceLocation: sourceLocation)
        #expect(current == ReferenceModel.current(store.loaded).map(\.currentRow), sourceLocation: sourceLocation)
        #expect(invariantViolations(history: history, current: current) == [], sourceLocation: sourceLocation)
    }

    @Test(arguments: TestBackend.allCases) func updateReachesHistoryAtStatementTimeOnce(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        let window = try await Self.run("UPDATE customer SET city = 'X' WHERE customer_id = 1", on: store)
        let pending = try await store.warehouse.pendingStream()
        let width = 1 + 7 + 1
        #expect(pending.table.columns.suffix(3) == ["METADATA$ACTION", "METADATA$ISUPDATE", "METADATA$ROW_ID"])
        let rows = pending.table.rows
        try #require(rows.count == 2)
        #expect(rows[0][width..<(width + 2)] == [.text("DELETE"), .integer(1)])
        #expect(rows[1][width..<(width + 2)] == [.text("INSERT"), .integer(1)])
        #expect(rows[0][5] == .text("Oslo"))
        #expect(rows[1][5] == .text("X"))
        #expect(rows[0][width + 2] == rows[1][width + 2])

        let consumed = try await store.warehouse.consumeStream()
        #expect(consumed.changesConsumed == 1)
        let history = try await Self.versions(of: 1, in: store)
        try #require(history.count == 2)
        let changedAt = try #require(Self.time(history[1][8]))
        #expect(window.contains(changedAt), "statement time \(changedAt) outside \(window)")
        let x = person("Ann", city: .text("X"))
        store.noteLoaded([Self.manual(1, x, at: changedAt)])
        try await Self.expectModel(store)

        // The offset advanced: nothing pending, nothing to consume again.
        let after = try await store.warehouse.pendingStream()
        #expect(after.table.rows.isEmpty)
        #expect(after.offset == consumed.offset)
        #expect(after.offset == after.latest)
        await #expect(try store.warehouse.consumeStream().changesConsumed == 0)

        // A later file does not re-apply the change; a late record lands around it.
        let snapshot = try await store.historyRows()
        try await store.load(TestFile(name: "next.csv", checksum: "n", rows: [Self.upsert(3, Self.c, at: at(20))]))
        await #expect(try Self.versions(of: 1, in: store).count == 2)
        await #expect(try store.historyRows().filter { $0[0] == .integer(1) } == snapshot.filter { $0[0] == .integer(1) })
        let lateLoad = try #require(
            try await store.load(TestFile(name: "late.csv", checksum: "l", rows: [Self.upsert(1, Self.b, at: at(15))]))
        )
        try await Self.expectModel(store)
        // It arrived after the manual change, which is later: it is late.
        await #expect(
            try store.warehouse.lateRecords(of: Key(1))
                == [
                    LateRecord(
                        key: Key(1), eventTime: at(15), operation: .upsert, loadID: lateLoad.id, row: 1, latestBefore: changedAt
                    )
                ]
        )
        await #expect(try Self.versions(of: 1, in: store).map { Self.time($0[8]) } == [at(10), at(15), changedAt])
        await #expect(
            try store.currentRows().first
                == Version(key: Key(1), attributes: x, start: changedAt, end: nil)
                .currentRow
        )
    }

    /// A manual change at the statement's time, before a time a file already gave the key, is a
    /// late record of the stream's consumption (its load in load history).
    @Test(arguments: TestBackend.allCases) func aManualChangeCanBeLate(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        let future = Timestamp(year: 2099, month: 1, day: 1)!
        try await store.load(TestFile(name: "future.csv", checksum: "f", rows: [Self.upsert(2, Self.c, at: future)]))
        let window = try await Self.run("UPDATE customer SET city = 'X' WHERE customer_id = 2", on: store)
        try await store.warehouse.consumeStream()
        let consumption = try #require(try await store.warehouse.loadHistory(.first(1)).items.first)
        #expect(consumption.fileName == "manual DML")
        let late = try await store.warehouse.lateRecords(of: Key(2))
        try #require(late.count == 1)
        #expect(window.contains(late[0].eventTime))
        #expect(late[0].loadID == consumption.id)
        #expect(late[0].row == 1)
        #expect(late[0].latestBefore == future)
        await #expect(try store.warehouse.lateRecords(of: Key(1)).isEmpty)
    }

    /// Deleting every key of a warehouse that has only open versions leaves SCD1 empty until
    /// the stream is consumed: the writer must not take that for a warehouse with no keys (it
    /// once did on PostgreSQL, and dropped the deletes).
    @Test(arguments: TestBackend.allCases) func deletingEveryLiveKeyReachesHistory(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        let window = try await Self.run("DELETE FROM customer", on: store)
        let consumed = try await store.warehouse.consumeStream()
        #expect(consumed.counts.versionsClosed == 2)
        for key in [Int64(1), 2] {
            // Each row's own time (PostgreSQL's triggers read the clock per row).
            let deletedAt = try #require(Self.time(try await Self.versions(of: key, in: store)[0][9]))
            #expect(window.contains(deletedAt))
            store.noteLoaded([Self.manual(key, Array(repeating: .null, count: 7), at: deletedAt, .delete)])
        }
        try await Self.expectModel(store)
        await #expect(try store.currentRows() == [])
    }

    @Test(arguments: TestBackend.allCases) func deleteReachesHistoryAtStatementTime(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        let window = try await Self.run("DELETE FROM customer WHERE customer_id = 2", on: store)
        let rows = try await store.warehouse.pendingStream().table.rows
        try #require(rows.count == 1)
        #expect(rows[0][0] == .integer(2))
        #expect(rows[0][9..<11] == [.text("DELETE"), .integer(0)])
        try await store.warehouse.consumeStream()
        let history = try await Self.versions(of: 2, in: store)
        try #require(history.count == 1)
        let deletedAt = try #require(Self.time(history[0][9]))
        #expect(window.contains(deletedAt))
        store.noteLoaded([Self.manual(2, Array(repeating: .null, count: 7), at: deletedAt, .delete)])
        try await Self.expectModel(store)
        // A late file record before the delete is placed before it; the key stays deleted.
        try await store.load(TestFile(name: "late.csv", checksum: "l", rows: [Self.upsert(2, Self.c, at: at(12))]))
        try await Self.expectModel(store)
        await #expect(try store.currentRows().map { $0[0] } == [.integer(1)])
    }

    @Test(arguments: TestBackend.allCases) func insertReachesHistoryAtStatementTime(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        let window = try await Self.run(
            """
            INSERT INTO customer (customer_id, first_name, last_name, email, street, city, state, country,
                update_timestamp)
            VALUES (7, 'Zoë', 'O''Brien', NULL, '', '東京', 'a,b', 'x
            y', '2001-01-01 00:00:00.000000')
            """,
            on: store
        )
        let rows = try await store.warehouse.pendingStream().table.rows
        try #require(rows.count == 1)
        #expect(rows[0][9..<11] == [.text("INSERT"), .integer(0)])
        try await store.warehouse.consumeStream()
        let history = try await Self.versions(of: 7, in: store)
        try #require(history.count == 1)
        let insertedAt = try #require(Self.time(history[0][8]))
        #expect(window.contains(insertedAt))
        let attributes: [Value] = [
            .text("Zoë"), .text("O'Brien"), .null, .text(""), .text("東京"), .text("a,b"),
            .text("x\ny"),
        ]
        store.noteLoaded([Self.manual(7, attributes, at: insertedAt)])
        // SCD1's update_timestamp is the open version's start, not what the INSERT wrote.
        try await Self.expectModel(store)
    }

    @Test(arguments: TestBackend.allCases) func updateOfKeyDeletesOldKeyAndInsertsNewOne(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        let window = try await Self.run("UPDATE customer SET customer_id = 9 WHERE customer_id = 1", on: store)
        let rows = try await store.warehouse.pendingStream().table.rows
        try #require(rows.count == 2)
        #expect(rows.map { [$0[0], $0[9]] } == [[.integer(1), .text("DELETE")], [.integer(9), .text("INSERT")]])
        try await store.warehouse.consumeStream()
        let old = try await Self.versions(of: 1, in: store)
        let new = try await Self.versions(of: 9, in: store)
        try #require(old.count == 1 && new.count == 1)
        let changedAt = try #require(Self.time(new[0][8]))
        #expect(window.contains(changedAt))
        #expect(Self.time(old[0][9]) == changedAt)
        store.noteLoaded([
            Self.manual(1, Self.a, at: changedAt, .delete), Self.manual(9, Self.a, at: changedAt),
        ])
        try await Self.expectModel(store)
    }

    @Test(arguments: TestBackend.allCases) func pendingChangesAreConsumedByTheNextLoad(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        let window = try await Self.run("UPDATE customer SET first_name = NULL WHERE customer_id = 2", on: store)
        try await store.load(TestFile(name: "next.csv", checksum: "n", rows: [Self.upsert(1, Self.c, at: at(30))]))
        await #expect(try store.warehouse.pendingStream().table.rows.isEmpty)
        let history = try await Self.versions(of: 2, in: store)
        try #require(history.count == 2)
        let changedAt = try #require(Self.time(history[1][8]))
        #expect(window.contains(changedAt))
        store.noteLoaded([Self.manual(2, person(.null), at: changedAt)])
        try await Self.expectModel(store)
        await #expect(try store.warehouse.consumeStream().changesConsumed == 0)
        try await Self.expectModel(store)
    }

    /// The stream's changes and the next chunk touch the same key in one transaction.
    @Test(arguments: TestBackend.allCases) func pendingChangeAndTheNextLoadOfTheSameKey(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        let window = try await Self.run("UPDATE customer SET first_name = NULL WHERE customer_id = 2", on: store)
        try await store.load(TestFile(name: "next.csv", checksum: "n", rows: [Self.upsert(2, Self.c, at: at(30))]))
        let history = try await Self.versions(of: 2, in: store)
        // The manual change (now) is later than the file's record: its version stays open.
        try #require(history.count == 3)
        let changedAt = try #require(Self.time(history[2][8]))
        #expect(window.contains(changedAt))
        store.noteLoaded([Self.manual(2, person(.null), at: changedAt)])
        try await Self.expectModel(store)
    }

    @Test(arguments: TestBackend.allCases) func updateThatChangesNothingAddsNoVersion(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        _ = try await store.warehouse.query("UPDATE customer SET city = city WHERE customer_id = 1")
        try await store.warehouse.consumeStream()
        try await Self.expectModel(store)
    }

    @Test(arguments: TestBackend.allCases) func editOfUpdateTimestampAloneIsUndone(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        _ = try await store.warehouse.query("UPDATE customer SET update_timestamp = '2000-01-01 00:00:00.000000'")
        try await store.warehouse.consumeStream()
        try await Self.expectModel(store)
    }

    /// A manual change older than the open version (a future-dated record) is a late record:
    /// it splits history and SCD1 stays the open version.
    @Test(arguments: TestBackend.allCases) func changeBeforeFutureDatedVersionLeavesSCD1AtOpenVersion(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        let future = Timestamp(year: 2099, month: 1, day: 1)!
        try await store.load(TestFile(name: "future.csv", checksum: "f", rows: [Self.upsert(1, Self.c, at: future)]))
        _ = try await Self.run("UPDATE customer SET city = 'X' WHERE customer_id = 1", on: store)
        try await store.warehouse.consumeStream()
        let history = try await Self.versions(of: 1, in: store)
        try #require(history.count == 3)
        let changedAt = try #require(Self.time(history[1][8]))
        store.noteLoaded([Self.manual(1, person("Cai", city: .text("X")), at: changedAt)])
        try await Self.expectModel(store)
        await #expect(try store.currentRows().first?[8] == Cell(future.value))
    }

    /// The warehouse's writer runs without triggers (its own SCD1 writes must not be logged);
    /// DML from any other SQLite connection, as the `sqlite3` shell would run it, still fires
    /// them, and reaches history once. Pipeline loads before and after log nothing.
    @Test(arguments: TestBackend.allCases) func dmlFromAnotherConnectionIsCapturedAndPipelineWritesAreNot(backend: TestBackend) async throws {
        let store = try await Self.seeded(backend)
        await #expect(try store.warehouse.pendingStream().latest == 0)
        let before = Timestamp.now()
        try await store.executeAsAnotherClient("UPDATE customer SET city = 'Y' WHERE customer_id = 2")
        let after = Timestamp.now()
        await #expect(try store.warehouse.pendingStream().table.rows.count == 2)
        await #expect(try store.warehouse.consumeStream().changesConsumed == 1)
        let history = try await Self.versions(of: 2, in: store)
        try #require(history.count == 2)
        let changedAt = try #require(Self.time(history[1][8]))
        let window =
            Timestamp(
                microseconds: before.microseconds - before.microseconds % 1000 - 1000
            )...Timestamp(
                microseconds: after.microseconds + 1000
            )
        #expect(window.contains(changedAt))
        store.noteLoaded([Self.manual(2, person("Bob", city: .text("Y")), at: changedAt)])

        // A pipeline load changing both keys leaves nothing in the change log.
        let later = Timestamp(microseconds: after.microseconds + 60_000_000)
        let latest = try await store.warehouse.pendingStream().latest
        try await store.load(
            TestFile(
                name: "later.csv",
                checksum: "later",
                rows: [Self.upsert(1, Self.b, at: later), Self.upsert(2, Self.a, at: later)]
            )
        )
        let pending = try await store.warehouse.pendingStream()
        #expect(pending.latest == latest)
        #expect(pending.table.rows.isEmpty)
        try await Self.expectModel(store)
    }
}
