import FirnCore
import FirnTestSupport
import FirnWarehouse
import Testing

/// Widening an attribute's type at the warehouse (``Warehouse/widenAttributes(_:file:)``), on
/// both backends: stored values convert so that the same text compares equal (no spurious
/// version), records read before the change convert as they apply, late records split versions
/// as usual, and the change survives reopening and reaches another writer. (Files:
/// `FileLoaderWideningTests`.)
@Suite struct SchemaWideningTests {
    /// Key `id`; attributes `points` (integer) and `vip` (boolean); evolving.
    static let entity: EntityConfiguration = {
        var entity = try! EntityConfiguration(
            name: "m",
            keyColumns: [Column("id", .integer)],
            attributeColumns: [Column("points", .integer), Column("vip", .boolean)]
        )
        entity.schemaEvolution = .evolve
        return entity
    }()
    static let historySQL = "SELECT id, points, vip, start_time, end_time FROM m_history ORDER BY id, start_time"

    static func upsert(_ key: Int64, _ seconds: Int, _ points: Value, _ vip: Value = .null) -> Draft {
        Draft(key: key, time: at(seconds), operation: .upsert, attributes: [points, vip])
    }

    static func row(_ key: Int64, _ points: Value, _ vip: Value, _ start: Int, _ end: Int?) -> [Value] {
        [.integer(key), points, vip, at(start).value, (end.map { at($0) } ?? Timestamp.openEnd).value]
    }

    static func history(_ store: TestWarehouse) async throws -> [[Value]] {
        try await store.warehouse.query(historySQL).result.rows
    }

    /// Integers become their decimal text everywhere; the same amount written as a decimal
    /// afterwards changes nothing, a new amount opens a version, a late record splits one.
    @Test(arguments: TestBackend.allCases) func anIntegerWidensToADecimalLosingNothing(
        backend: TestBackend
    ) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity)
        try await store.load(
            TestFile(
                name: "a.csv",
                checksum: "a",
                rows: [Self.upsert(1, 10, .integer(5)), Self.upsert(2, 10, .integer(-7))]
            )
        )
        let widened = try await store.warehouse.widenAttributes([Column("points", .decimal)], file: "b.csv")
        #expect(widened.attributeColumns == [Column("points", .decimal), Column("vip", .boolean)])
        #expect(widened.widenedAttributes == ["points": .integer])
        #expect(store.warehouse.entity == widened)
        #expect(
            try await Self.history(store) == [
                Self.row(1, .text("5"), .null, 10, nil), Self.row(2, .text("-7"), .null, 10, nil),
            ]
        )
        for table in ["m", "m_raw"] {
            let stored = try await store.warehouse.query("SELECT points FROM \(table) ORDER BY id").result.rows
            #expect(stored == [[.text("5")], [.text("-7")]], "\(table)")
        }
        try await store.load(
            TestFile(
                name: "b.csv",
                checksum: "b",
                rows: [
                    Self.upsert(1, 20, .text("5")), Self.upsert(2, 20, .text("-7.25")),
                    Self.upsert(2, 15, .text("1.5")),
                ]
            )
        )
        #expect(
            try await Self.history(store) == [
                Self.row(1, .text("5"), .null, 10, nil), Self.row(2, .text("-7"), .null, 10, 15),
                Self.row(2, .text("1.5"), .null, 15, 20), Self.row(2, .text("-7.25"), .null, 20, nil),
            ]
        )
        // Asking again (another file with decimals) changes nothing.
        #expect(try await store.warehouse.widenAttributes([Column("points", .decimal)], file: "c.csv") == widened)
        let changes = try await store.warehouse.schemaHistory()
        #expect(changes.map(\.summary) == ["widened attribute points integer to decimal"])
        #expect(changes.map(\.kind) == [.widened])
        #expect(changes.map(\.file) == ["b.csv"])
        await store.close()
    }

    /// A boolean becomes `true` or `false`; records read before the change (holding 1 and 0)
    /// convert as they apply, so they change nothing either.
    @Test(arguments: TestBackend.allCases) func aBooleanWidensToTextAndOlderReadsConvert(
        backend: TestBackend
    ) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity)
        try await store.load(
            TestFile(
                name: "a.csv",
                checksum: "a",
                rows: [Self.upsert(1, 10, .integer(1), .integer(1)), Self.upsert(2, 10, .null, .integer(0))]
            )
        )
        _ = try await store.warehouse.widenAttributes(
            [Column("vip", .text), Column("points", .decimal)],
            file: "b.csv"
        )
        #expect(store.warehouse.entity.attributeColumns == [Column("points", .decimal), Column("vip", .text)])
        // Read before the change: integers in both.
        try await store.load(
            TestFile(
                name: "b.csv",
                checksum: "b",
                rows: [Self.upsert(1, 20, .integer(1), .integer(1)), Self.upsert(2, 20, .integer(3), .integer(0))]
            )
        )
        try await store.load(
            TestFile(name: "c.csv", checksum: "c", rows: [Self.upsert(1, 30, .text("1"), .text("maybe"))])
        )
        #expect(
            try await Self.history(store) == [
                Self.row(1, .text("1"), .text("true"), 10, 30), Self.row(1, .text("1"), .text("maybe"), 30, nil),
                Self.row(2, .null, .text("false"), 10, 20), Self.row(2, .text("3"), .text("false"), 20, nil),
            ]
        )
        #expect(
            try await store.warehouse.schemaHistory().map(\.summary) == [
                "widened attribute vip boolean to text", "widened attribute points integer to decimal",
            ]
        )
        // The stream's triggers were made again with the new types.
        try await store.executeAsAnotherClient("UPDATE m SET vip = 'no' WHERE id = 2")
        let pending = try await store.warehouse.pendingStream()
        #expect(pending.changes.contains { $0.row.contains(.text("no")) }, "\(pending.changes)")
        await store.close()
    }

    /// Reopened with the config as it was (or giving the wider type), the entity keeps the
    /// wider type; another writer takes it up before its next chunk commits, converting what
    /// it read before; a config giving a type wider still is refused, saying so.
    @Test(arguments: TestBackend.allCases) func reopeningAndAnotherWriterKeepTheWiderType(
        backend: TestBackend
    ) async throws {
        let reopenable = try await ReopenableWarehouse.make(backend)
        defer { reopenable.cleanUp() }
        let first = try await reopenable.open(Self.entity)
        let second = try await reopenable.open(Self.entity)
        try await first.load(TestFile(name: "a.csv", checksum: "a", rows: [Self.upsert(1, 10, .integer(2))]))
        _ = try await first.warehouse.widenAttributes([Column("points", .decimal)], file: "b.csv")
        try await first.load(TestFile(name: "b.csv", checksum: "b", rows: [Self.upsert(1, 20, .text("2.5"))]))
        // The second read its file before the change: an integer.
        try await second.load(
            TestFile(
                name: "c.csv",
                checksum: "c",
                rows: [Self.upsert(1, 30, .integer(2)), Self.upsert(3, 30, .integer(4))]
            )
        )
        #expect(second.warehouse.entity.attributeColumns[0] == Column("points", .decimal))
        let expected = [
            Self.row(1, .text("2"), .null, 10, 20), Self.row(1, .text("2.5"), .null, 20, 30),
            Self.row(1, .text("2"), .null, 30, nil),
            Self.row(3, .text("4"), .null, 30, nil),
        ]
        #expect(try await Self.history(second) == expected)
        await first.close()
        await second.close()

        let again = try await reopenable.open(Self.entity)
        #expect(again.warehouse.entity.attributeColumns[0] == Column("points", .decimal))
        #expect(try await Self.history(again) == expected)
        await again.close()

        var declared = Self.entity
        declared.attributeColumns[0].type = .decimal
        let declaring = try await reopenable.open(declared)
        #expect(declaring.warehouse.entity.attributeColumns[0] == Column("points", .decimal))
        await declaring.close()

        declared.attributeColumns[0].type = .text
        let refusal = await #expect(throws: WarehouseError.self) { _ = try await reopenable.open(declared) }
        #expect("\(refusal.map { "\($0)" } ?? "")".contains("attribute points was decimal, now text"))
    }

    /// A name that is not an attribute is refused; a type the attribute already widens past
    /// changes nothing.
    @Test(arguments: TestBackend.allCases) func onlyAttributesWiden(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity)
        await #expect(throws: WarehouseError.self) {
            _ = try await store.warehouse.widenAttributes([Column("id", .text)], file: "x")
        }
        #expect(try await store.warehouse.widenAttributes([Column("points", .integer)], file: "x") == Self.entity)
        #expect(try await store.warehouse.schemaHistory().isEmpty)
        await store.close()
    }
}
