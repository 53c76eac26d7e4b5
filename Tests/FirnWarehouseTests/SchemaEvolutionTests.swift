import FirnCore
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// `schema_evolution: evolve` at the warehouse, on both backends: attributes added part way
/// (``Warehouse/addAttributes(_:file:)``) hold NULL in earlier versions, version a key only
/// when they hold a value, reach every table and the stream, survive reopening, and reach
/// another writer of the same warehouse. (Files: `FileLoaderEvolutionTests`.)
@Suite struct SchemaEvolutionTests {
    /// A small entity: key `id`, attribute `name`, evolving.
    static let entity: EntityConfiguration = {
        var entity = try! EntityConfiguration(name: "p", keyColumns: [Column("id", .integer)], attributeColumns: [Column("name")])
        entity.schemaEvolution = .evolve
        return entity
    }()
    static let tier = Column("tier", .integer)
    static let historySQL = "SELECT id, name, tier, start_time, end_time, is_current FROM p_history ORDER BY id, start_time"

    static func upsert(_ key: Int64, _ seconds: Int, _ name: String, tier: Value? = nil) -> Draft {
        Draft(key: key, time: at(seconds), operation: .upsert, attributes: [.text(name)] + (tier.map { [$0] } ?? []))
    }

    /// A history row of `p` with its tier.
    static func row(_ key: Int64, _ name: String, _ tier: Value, _ start: Int, _ end: Int?) -> [Value] {
        [
            .integer(key), .text(name), tier, at(start).value, (end.map { at($0) } ?? Timestamp.openEnd).value,
            .integer(end == nil ? 1 : 0),
        ]
    }

    static func history(_ store: TestWarehouse) async throws -> [[Value]] {
        try await store.warehouse.query(historySQL).result.rows
    }

    /// Versions before the attribute hold NULL; a record with NULL in it (or read before it was
    /// added, so without it) changes nothing, one with a value opens a version; a late record
    /// splits a version as usual. Adding it again changes nothing.
    @Test(arguments: TestBackend.allCases) func aNewAttributeIsNullBeforeAndVersionsOnlyOnAValue(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity)
        try await store.load(TestFile(name: "a.csv", checksum: "a", rows: [Self.upsert(1, 10, "Ann"), Self.upsert(2, 10, "Bob")]))
        let grown = try await store.warehouse.addAttributes([Self.tier], file: "b.csv")
        #expect(grown.attributeColumns.map(\.name) == ["name", "tier"])
        #expect(grown.evolvedAttributes == ["tier"])
        #expect(store.warehouse.entity == grown)
        #expect(try await Self.history(store) == [Self.row(1, "Ann", .null, 10, nil), Self.row(2, "Bob", .null, 10, nil)])

        try await store.load(
            TestFile(
                name: "b.csv",
                checksum: "b",
                rows: [Self.upsert(1, 20, "Ann", tier: .null), Self.upsert(2, 20, "Bob", tier: .integer(3)), Self.upsert(1, 25, "Ann")]
            )
        )
        #expect(
            try await Self.history(store) == [
                Self.row(1, "Ann", .null, 10, nil), Self.row(2, "Bob", .null, 10, 20), Self.row(2, "Bob", .integer(3), 20, nil),
            ]
        )
        #expect(try await store.warehouse.query("SELECT id, name, tier FROM p ORDER BY id").result.rows == [
            [.integer(1), .text("Ann"), .null], [.integer(2), .text("Bob"), .integer(3)],
        ])
        #expect(try await store.warehouse.query("SELECT count(*) FROM p_raw WHERE tier = 3").result.rows == [[.integer(1)]])

        try await store.load(TestFile(name: "c.csv", checksum: "c", rows: [Self.upsert(2, 15, "Bob", tier: .integer(7))]))
        #expect(
            try await Self.history(store) == [
                Self.row(1, "Ann", .null, 10, nil), Self.row(2, "Bob", .null, 10, 15), Self.row(2, "Bob", .integer(7), 15, 20),
                Self.row(2, "Bob", .integer(3), 20, nil),
            ]
        )
        let versions = try await store.warehouse.history(of: Key(2))
        #expect(versions.map(\.attributes) == [[.text("Bob"), .null], [.text("Bob"), .integer(7)], [.text("Bob"), .integer(3)]])

        #expect(try await store.warehouse.addAttributes([Self.tier], file: "d.csv") == grown)
        let changes = try await store.warehouse.schemaHistory()
        #expect(changes.map(\.version) == [1])
        #expect(changes.map(\.column) == [Self.tier])
        #expect(changes.map(\.file) == ["b.csv"])
        #expect(changes.first?.summary == "added attribute tier integer")
    }

    /// Another writer of the same warehouse (another process, another worker) takes the new
    /// attribute up before its next chunk commits: records it read without it are NULL there,
    /// and its reads show it.
    @Test(arguments: TestBackend.allCases) func anotherWriterTakesUpTheNewAttribute(backend: TestBackend) async throws {
        let reopenable = try await ReopenableWarehouse.make(backend)
        defer { reopenable.cleanUp() }
        let first = try await reopenable.open(Self.entity)
        let second = try await reopenable.open(Self.entity)
        try await first.load(TestFile(name: "a.csv", checksum: "a", rows: [Self.upsert(1, 10, "Ann")]))
        _ = try await first.warehouse.addAttributes([Self.tier], file: "b.csv")
        try await first.load(TestFile(name: "b.csv", checksum: "b", rows: [Self.upsert(1, 20, "Ann", tier: .integer(2))]))
        // The second read its file before the attribute existed.
        try await second.load(TestFile(name: "c.csv", checksum: "c", rows: [Self.upsert(1, 30, "Ann"), Self.upsert(3, 30, "Cy")]))
        #expect(second.warehouse.entity.attributeColumns.map(\.name) == ["name", "tier"])
        let expected = [
            Self.row(1, "Ann", .null, 10, 20), Self.row(1, "Ann", .integer(2), 20, 30), Self.row(1, "Ann", .null, 30, nil),
            Self.row(3, "Cy", .null, 30, nil),
        ]
        #expect(try await Self.history(second) == expected)
        #expect(try await second.warehouse.history(of: Key(1)).map(\.attributes.count) == [2, 2, 2])
        await first.close()
        await second.close()
    }

    /// Reopened with the config as it was, the entity keeps the attribute; the config may
    /// declare it (with its type); a config that declares a new attribute adds it when the
    /// warehouse opens under `evolve`, and is refused otherwise, saying so.
    @Test(arguments: TestBackend.allCases) func reopeningKeepsTheAttributeAndTheConfigMayDeclareMore(backend: TestBackend) async throws {
        let reopenable = try await ReopenableWarehouse.make(backend)
        defer { reopenable.cleanUp() }
        let first = try await reopenable.open(Self.entity)
        try await first.load(TestFile(name: "a.csv", checksum: "a", rows: [Self.upsert(1, 10, "Ann")]))
        _ = try await first.warehouse.addAttributes([Self.tier], file: "b.csv")
        await first.close()

        let again = try await reopenable.open(Self.entity)
        #expect(again.warehouse.entity.attributeColumns == [Column("name"), Self.tier])
        await again.close()

        var declared = try EntityConfiguration(
            name: "p",
            keyColumns: [Column("id", .integer)],
            attributeColumns: [Column("name"), Self.tier, Column("region")]
        )
        declared.schemaEvolution = .ignore
        let refusal = await #expect(throws: WarehouseError.self) { _ = try await reopenable.open(declared) }
        #expect("\(refusal.map { "\($0)" } ?? "")".contains("attribute region text is new (schema_evolution: evolve adds it)"))

        var retyped = declared
        retyped.attributeColumns = [Column("name"), Column("tier", .text)]
        let retyping = await #expect(throws: WarehouseError.self) { _ = try await reopenable.open(retyped) }
        #expect("\(retyping.map { "\($0)" } ?? "")".contains("attribute tier was integer, now text"))

        declared.schemaEvolution = .evolve
        let widened = try await reopenable.open(declared)
        #expect(widened.warehouse.entity.attributeColumns == [Column("name"), Self.tier, Column("region")])
        #expect(try await widened.warehouse.schemaHistory().map(\.file) == ["b.csv", SchemaChange.fromConfig])
        try await widened.load(
            TestFile(
                name: "c.csv",
                checksum: "c",
                rows: [Draft(key: 1, time: at(20), operation: .upsert, attributes: [.text("Ann"), .integer(1), .text("north")])]
            )
        )
        #expect(try await widened.warehouse.query("SELECT tier, region FROM p").result.rows == [[.integer(1), .text("north")]])
        await widened.close()
    }

    /// Manual DML that sets the new attribute reaches the stream and, once consumed, history.
    @Test(arguments: TestBackend.allCases) func manualChangesToANewAttributeReachHistory(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity)
        try await store.load(TestFile(name: "a.csv", checksum: "a", rows: [Self.upsert(1, 10, "Ann")]))
        _ = try await store.warehouse.addAttributes([Self.tier], file: "b.csv")
        try await store.executeAsAnotherClient("UPDATE p SET tier = 9 WHERE id = 1")
        let pending = try await store.warehouse.pendingStream()
        #expect(pending.changes.count == 2)
        #expect(pending.changes.contains { $0.row.contains(.integer(9)) }, "\(pending.changes)")
        _ = try await store.warehouse.consumeStream()
        // At the statement's time (see ManualDMLTests).
        let rows = try await store.warehouse.query("SELECT id, name, tier, is_current FROM p_history ORDER BY start_time")
        #expect(rows.result.rows == [
            [.integer(1), .text("Ann"), .null, .integer(0)], [.integer(1), .text("Ann"), .integer(9), .integer(1)],
        ])
    }

    /// Under `deletes: record` the view made again keeps its deleted spans, with the attribute.
    @Test(arguments: TestBackend.allCases) func deletedSpansKeepTheirShape(backend: TestBackend) async throws {
        var entity = Self.entity
        entity.deletes = .record
        let store = try await TestWarehouse.open(backend, entity: entity)
        try await store.load(TestFile(name: "a.csv", checksum: "a", rows: [Self.upsert(1, 10, "Ann")]))
        _ = try await store.warehouse.addAttributes([Self.tier], file: "b.csv")
        try await store.load(
            TestFile(
                name: "b.csv",
                checksum: "b",
                rows: [Self.upsert(1, 20, "Ann", tier: .integer(4)), Draft(key: 1, time: at(30), operation: .delete, attributes: [])]
            )
        )
        let rows = try await store.warehouse.query(
            "SELECT id, name, tier, start_time, end_time, is_current, is_deleted FROM p_history ORDER BY start_time"
        ).result.rows
        #expect(rows == [
            Self.row(1, "Ann", .null, 10, 20) + [.integer(0)], Self.row(1, "Ann", .integer(4), 20, 30) + [.integer(0)],
            Self.row(1, "Ann", .integer(4), 30, nil) + [.integer(1)],
        ])
    }
}
