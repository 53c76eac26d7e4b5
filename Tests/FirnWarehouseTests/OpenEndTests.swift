import FirnCore
import FirnPostgresWarehouse
import FirnSQLiteWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// `open_end`: what the history table shows as the end of an open version, on both warehouses.
@Suite struct OpenEndTests {
    static func entity(_ openEnd: OpenEnd) -> EntityConfiguration {
        var entity = EntityConfiguration.customer
        entity.openEnd = openEnd
        return entity
    }

    static let file = TestFile(
        name: "a.csv",
        checksum: "a",
        rows: [
            Draft(key: 1, time: at(1), operation: .upsert, attributes: person("Ann")),
            Draft(key: 1, time: at(2), operation: .upsert, attributes: person("Bob")),
            Draft(key: 2, time: at(1), operation: .upsert, attributes: person("Cai")),
            Draft(key: 2, time: at(3), operation: .delete, attributes: []),
            Draft(key: 3, time: at(4), operation: .upsert, attributes: person("Dee")),
        ]
    )

    /// The model's history rows with open versions ending in NULL.
    static func nullEnded(_ rows: [[Cell]]) -> [[Cell]] {
        let open = Cell(Timestamp.openEnd.value)
        return rows.map { row in
            var row = row
            if row[9] == open { row[9] = .null }
            return row
        }
    }

    /// With `open_end: null`, history is the model's with NULL for every open end, closed
    /// versions unchanged; also for a key whose SCD1 row manual DML changed (the view shows
    /// the saved row until the stream is consumed), in as-of reads, and in the versions
    /// `firn history` prints.
    @Test(arguments: TestBackend.allCases) func nullOpenEndsShowNullEverywhereHistoryIsShown(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity(.null))
        try await store.load(Self.file)
        let expected = ReferenceModel.history(store.loaded).map(\.historyRow)
        let shown = try await store.historyRows()
        #expect(shown == Self.nullEnded(expected))
        #expect(shown.filter { $0[9] == .null }.count == 2)
        _ = try await store.warehouse.query("UPDATE customer SET first_name = 'Eve' WHERE customer_id = 1")
        #expect(try await store.historyRows() == Self.nullEnded(expected))
        // Reads through the view: as-of finds open versions, history ends them with NULL.
        #expect(try await store.warehouse.asOf(at(5)).map(\.key) == [Key(1), Key(3)])
        #expect(try await store.warehouse.asOf(at(2)).map(\.start) == [at(2), at(1)])
        let printed = QueryResult(history: try await store.warehouse.history(of: Key(1)), of: Self.entity(.null))
        #expect(printed.rows.map { $0[printed.columns.firstIndex(of: "end_time")!] } == [.text(at(2).description), .null])
    }

    /// The option can change between runs: the same warehouse opened with the other one shows
    /// it, and the tables under the view are what they were.
    @Test(arguments: TestBackend.allCases) func theOpenEndCanChangeBetweenRuns(backend: TestBackend) async throws {
        let warehouse = try await ReopenableWarehouse.make(backend)
        defer { warehouse.cleanUp() }
        let reopen = { (openEnd: OpenEnd) in try await warehouse.open(Self.entity(openEnd)) }
        let first = try await reopen(.sentinel)
        try await first.load(Self.file)
        let expected = ReferenceModel.history(first.loaded).map(\.historyRow)
        #expect(try await first.historyRows() == expected)
        let second = try await reopen(.null)
        #expect(try await second.historyRows() == Self.nullEnded(expected))
        let third = try await reopen(.sentinel)
        #expect(try await third.historyRows() == expected)
        for store in [first, second, third] { await store.close() }
    }
}
