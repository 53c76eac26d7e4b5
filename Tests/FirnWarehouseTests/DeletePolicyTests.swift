import FirnCore
import FirnPostgresWarehouse
import FirnSQLiteWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// `deletes: record` by example, on both warehouses: a delete shows as a row of its own, with
/// `is_deleted` 1 and the attributes of the version it ended, until the key comes back.
/// (``SCDPropertyTests`` holds random cases, late records included, to the model.)
@Suite struct DeletePolicyTests {
    static func entity(_ deletes: DeletePolicy, openEnd: OpenEnd = .sentinel) -> EntityConfiguration {
        var entity = EntityConfiguration.customer
        entity.deletes = deletes
        entity.openEnd = openEnd
        return entity
    }

    static func upsert(_ key: Int64, _ seconds: Int, _ name: String) -> Draft {
        Draft(key: key, time: at(seconds), operation: .upsert, attributes: person(name))
    }

    static func delete(_ key: Int64, _ seconds: Int) -> Draft {
        Draft(key: key, time: at(seconds), operation: .delete, attributes: [])
    }

    /// A history row under `deletes: record`.
    static func row(_ key: Int64, _ name: String, _ start: Int, _ end: Int?, deleted: Bool = false) -> [Cell] {
        Version(key: Key(key), attributes: person(name), start: at(start), end: end.map { at($0) }, isDeleted: deleted)
            .historyRowWithDeletes
    }

    /// A delete opens a deleted span with the ended version's attributes; a second delete
    /// changes nothing; the key's return ends the span and opens a version, even with the
    /// attributes it had. SCD1 never holds a deleted key; as-of finds nothing inside the span;
    /// `firn history` shows the span, marked.
    @Test(arguments: TestBackend.allCases) func aDeleteShowsAsARowUntilTheKeyComesBack(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity(.record))
        try await store.load(
            TestFile(
                name: "a.csv",
                checksum: "a",
                rows: [Self.upsert(1, 10, "Ann"), Self.delete(1, 20), Self.delete(1, 25), Self.upsert(2, 10, "Bob")]
            )
        )
        #expect(
            try await store.historyRows() == [
                Self.row(1, "Ann", 10, 20), Self.row(1, "Ann", 20, nil, deleted: true), Self.row(2, "Bob", 10, nil),
            ]
        )
        #expect(try await store.currentRows().map { $0[0] } == [.integer(2)])

        try await store.load(TestFile(name: "b.csv", checksum: "b", rows: [Self.upsert(1, 30, "Ann")]))
        #expect(
            try await store.historyRows() == [
                Self.row(1, "Ann", 10, 20), Self.row(1, "Ann", 20, 30, deleted: true), Self.row(1, "Ann", 30, nil),
                Self.row(2, "Bob", 10, nil),
            ]
        )
        #expect(try await store.currentRows().map { $0[0] } == [.integer(1), .integer(2)])
        #expect(try await store.warehouse.asOf(at(25)).map(\.key) == [Key(2)])
        #expect(try await store.warehouse.asOf(at(15)).map(\.key) == [Key(1), Key(2)])
        let versions = try await store.warehouse.history(of: Key(1))
        #expect(versions.map(\.isDeleted) == [false, true, false])
        let printed = QueryResult(history: versions, of: Self.entity(.record))
        #expect(printed.columns.last == "is_deleted")
        #expect(printed.rows.map { $0.last } == [.integer(0), .integer(1), .integer(0)])
    }

    /// A late delete splits the version in force at its time into a version and a deleted
    /// span up to the next version; a late upsert inside the span ends it there; a delete
    /// that finds no version in force shows nothing.
    @Test(arguments: TestBackend.allCases) func lateRecordsMoveTheDeletedSpan(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity(.record))
        try await store.load(
            TestFile(name: "a.csv", checksum: "a", rows: [Self.upsert(1, 10, "Ann"), Self.upsert(1, 30, "Bea")])
        )
        try await store.load(TestFile(name: "b.csv", checksum: "b", rows: [Self.delete(1, 20), Self.delete(3, 5)]))
        #expect(
            try await store.historyRows() == [
                Self.row(1, "Ann", 10, 20), Self.row(1, "Ann", 20, 30, deleted: true), Self.row(1, "Bea", 30, nil),
            ]
        )
        try await store.load(TestFile(name: "c.csv", checksum: "c", rows: [Self.upsert(1, 25, "Cal")]))
        let expected = [
            Self.row(1, "Ann", 10, 20), Self.row(1, "Ann", 20, 25, deleted: true), Self.row(1, "Cal", 25, 30),
            Self.row(1, "Bea", 30, nil),
        ]
        #expect(try await store.historyRows() == expected)
        #expect(try await store.historyRows() == ReferenceModel.history(store.loaded, recordDeletes: true).map(\.historyRowWithDeletes))
    }

    /// A manual `DELETE` on SCD1 reaches history at the statement's time once the stream is
    /// consumed; until then history shows what it held before.
    @Test(arguments: TestBackend.allCases) func aManualDeleteOpensADeletedSpan(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity(.record))
        try await store.load(TestFile(name: "a.csv", checksum: "a", rows: [Self.upsert(1, 10, "Ann")]))
        _ = try await store.warehouse.query("DELETE FROM customer WHERE customer_id = 1")
        #expect(try await store.historyRows() == [Self.row(1, "Ann", 10, nil)])
        try await store.warehouse.consumeStream()
        let rows = try await store.historyRows()
        try #require(rows.count == 2, "\(rows)")
        #expect(rows[0][9] == rows[1][8], "the deleted span starts where the version ended")
        #expect(rows[1][9...] == [Cell(Timestamp.openEnd.value), .integer(1), .integer(1)])
        #expect(Array(rows[1][1..<8]) == person("Ann").map(Cell.init))
    }

    /// Under `open_end: null` an open deleted span ends in NULL too.
    @Test(arguments: TestBackend.allCases) func anOpenDeletedSpanEndsLikeAnyOpenRow(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity(.record, openEnd: .null))
        try await store.load(TestFile(name: "a.csv", checksum: "a", rows: [Self.upsert(1, 10, "Ann"), Self.delete(1, 20)]))
        let rows = try await store.historyRows()
        #expect(rows.map { Array($0[8...]) } == [
            [Cell(at(10).value), Cell(at(20).value), .integer(0), .integer(0)],
            [Cell(at(20).value), .null, .integer(1), .integer(1)],
        ])
    }

    /// The option can change between runs, both ways: history is derived from the same
    /// stored versions, and the view loses its `is_deleted` column again under `close`.
    @Test(arguments: TestBackend.allCases) func theDeletePolicyCanChangeBetweenRuns(backend: TestBackend) async throws {
        let warehouse = try await ReopenableWarehouse.make(backend)
        defer { warehouse.cleanUp() }
        let first = try await warehouse.open(Self.entity(.close))
        try await first.load(
            TestFile(name: "a.csv", checksum: "a", rows: [Self.upsert(1, 10, "Ann"), Self.delete(1, 20), Self.upsert(1, 30, "Bea")])
        )
        let closed = ReferenceModel.history(first.loaded).map(\.historyRow)
        #expect(try await first.historyRows() == closed)
        let second = try await warehouse.open(Self.entity(.record))
        #expect(
            try await second.historyRows() == [
                Self.row(1, "Ann", 10, 20), Self.row(1, "Ann", 20, 30, deleted: true), Self.row(1, "Bea", 30, nil),
            ]
        )
        let third = try await warehouse.open(Self.entity(.close))
        #expect(try await third.historyRows() == closed)
        let columns = try await third.warehouse.query("SELECT * FROM customer_history").result.columns
        #expect(!columns.contains("is_deleted"))
        for store in [first, second, third] { await store.close() }
    }

    /// On PostgreSQL, leaving `record` drops the view: with a view of the user's on it, the
    /// warehouse refuses to open, saying why, and opens again once that view is gone.
    @Test func leavingRecordWithADependentViewIsRefusedOnPostgres() async throws {
        let warehouse = try await ReopenableWarehouse.make(.postgres)
        defer { warehouse.cleanUp() }
        let first = try await warehouse.open(Self.entity(.record))
        try await first.executeAsAnotherClient("CREATE VIEW mine AS SELECT customer_id, is_deleted FROM customer_history")
        await first.close()
        do {
            let refused = try await warehouse.open(Self.entity(.close))
            await refused.close()
            Issue.record("a warehouse whose history view another view depends on was opened under deletes: close")
        } catch {
            #expect("\(error)".contains("other objects depend on it"), "\(error)")
        }
        try await first.executeAsAnotherClient("DROP VIEW mine")
        let third = try await warehouse.open(Self.entity(.close))
        #expect(!(try await third.warehouse.query("SELECT * FROM customer_history").result.columns.contains("is_deleted")))
        await third.close()
    }
}
