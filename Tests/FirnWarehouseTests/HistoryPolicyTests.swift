import FirnCore
import FirnPostgresWarehouse
import FirnSQLiteWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// `track_history` and `null_updates` by example, on both warehouses: the rows each gives,
/// written out, late records included. (``SCDPropertyTests`` holds random cases to the model.)
@Suite struct HistoryPolicyTests {
    static func entity(untracked: Set<Identifier> = [], nullUpdates: NullUpdates = .apply) -> EntityConfiguration {
        var entity = EntityConfiguration.customer
        entity.untrackedAttributes = untracked
        entity.nullUpdates = nullUpdates
        return entity
    }

    /// A customer called `name`, living in `city`, with e-mail `email`.
    static func customer(_ name: Value, email: Value = .text("x@example.com"), city: Value = .text("Oslo")) -> [Value] {
        var attributes = person(name, city: city)
        attributes[2] = email
        return attributes
    }

    static func upsert(_ key: Int64, _ seconds: Int, _ attributes: [Value]) -> Draft {
        Draft(key: key, time: at(seconds), operation: .upsert, attributes: attributes)
    }

    static func row(_ key: Int64, _ attributes: [Value], _ start: Int, _ end: Int?) -> [Cell] {
        Version(key: Key(key), attributes: attributes, start: at(start), end: end.map { at($0) }).historyRow
    }

    /// `track_history_except: [email]`: a new e-mail alone updates the version in force and
    /// the SCD1 row in place; a new name opens a version. A late e-mail lands in the version in
    /// force at its time, a closed one too; a late name splits a version, and what followed it
    /// is placed again from the records.
    @Test(arguments: TestBackend.allCases) func untrackedChangesUpdateTheVersionInForceInPlace(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity(untracked: ["email"]))
        let ann = { (email: String) in Self.customer(.text("Ann"), email: .text(email)) }
        try await store.load(
            TestFile(
                name: "a.csv",
                checksum: "a",
                rows: [Self.upsert(1, 10, ann("a@x")), Self.upsert(1, 20, ann("b@x"))]
            )
        )
        #expect(try await store.historyRows() == [Self.row(1, ann("b@x"), 10, nil)])
        #expect(try await store.currentRows() == [Version(key: Key(1), attributes: ann("b@x"), start: at(10), end: nil).currentRow])

        let bea = Self.customer(.text("Bea"), email: .text("b@x"))
        try await store.load(TestFile(name: "b.csv", checksum: "b", rows: [Self.upsert(1, 30, bea)]))
        #expect(try await store.historyRows() == [Self.row(1, ann("b@x"), 10, 30), Self.row(1, bea, 30, nil)])

        // Late: a new e-mail at 25 updates the closed version [10, 30) in place.
        try await store.load(TestFile(name: "c.csv", checksum: "c", rows: [Self.upsert(1, 25, ann("d@x"))]))
        #expect(try await store.historyRows() == [Self.row(1, ann("d@x"), 10, 30), Self.row(1, bea, 30, nil)])

        // Late: a new name at 22 splits it; the e-mail at 25 is Ann's again, so it opens a version.
        let cal = Self.customer(.text("Cal"), email: .text("e@x"))
        try await store.load(TestFile(name: "d.csv", checksum: "d", rows: [Self.upsert(1, 22, cal)]))
        let expected = [
            Self.row(1, ann("b@x"), 10, 22), Self.row(1, cal, 22, 25), Self.row(1, ann("d@x"), 25, 30), Self.row(1, bea, 30, nil),
        ]
        #expect(try await store.historyRows() == expected)
        #expect(expected == ReferenceModel.history(store.loaded, untracked: [2]).map(\.historyRow))
        await store.close()
    }

    /// `null_updates: ignore`: a NULL keeps the value in force (a partial image); a record
    /// whose NULLs leave it equal to the version in force changes nothing; with no version in
    /// force a NULL stays NULL. A late record before a partial image changes what the partial
    /// image's version holds.
    @Test(arguments: TestBackend.allCases) func nullsInPartialImagesKeepTheValueInForce(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend, entity: Self.entity(nullUpdates: .ignore))
        let partial = Self.customer(.null, email: .null, city: .text("Bergen"))
        try await store.load(
            TestFile(
                name: "a.csv",
                checksum: "a",
                rows: [
                    Self.upsert(1, 10, Self.customer(.text("Ann"))),
                    Self.upsert(1, 20, partial),
                    Self.upsert(1, 30, Array(repeating: .null, count: 7)),
                    Self.upsert(2, 10, Self.customer(.null)),
                ]
            )
        )
        let annInBergen = Self.customer(.text("Ann"), city: .text("Bergen"))
        #expect(
            try await store.historyRows() == [
                Self.row(1, Self.customer(.text("Ann")), 10, 20), Self.row(1, annInBergen, 20, nil),
                Self.row(2, Self.customer(.null), 10, nil),
            ]
        )
        // Late: Bob at 15 (his city NULL, so Oslo); the partial image at 20 now keeps Bob.
        try await store.load(
            TestFile(name: "b.csv", checksum: "b", rows: [Self.upsert(1, 15, Self.customer(.text("Bob"), city: .null))])
        )
        let expected = [
            Self.row(1, Self.customer(.text("Ann")), 10, 15), Self.row(1, Self.customer(.text("Bob")), 15, 20),
            Self.row(1, Self.customer(.text("Bob"), city: .text("Bergen")), 20, nil), Self.row(2, Self.customer(.null), 10, nil),
        ]
        #expect(try await store.historyRows() == expected)
        #expect(expected == ReferenceModel.history(store.loaded, ignoreNulls: true).map(\.historyRow))
        await store.close()
    }

    /// The policy is part of the entity's definition: a warehouse kept under one refuses to
    /// open under another, saying what changed (history would not be what the config says).
    @Test(arguments: TestBackend.allCases) func aWarehouseRefusesAnotherPolicy(backend: TestBackend) async throws {
        let warehouse = try await ReopenableWarehouse.make(backend)
        defer { warehouse.cleanUp() }
        let open = warehouse.open
        let first = try await open(Self.entity(untracked: ["email", "street"], nullUpdates: .ignore))
        await first.close()
        let same = try await open(Self.entity(untracked: ["Street", "email"], nullUpdates: .ignore))
        await same.close()
        do {
            let other = try await open(Self.entity(untracked: ["email"]))
            await other.close()
            Issue.record("a warehouse kept under another policy opened")
        } catch let error as WarehouseError {
            let message = String(describing: error)
            #expect(message.contains("untracked attributes were (email, street), now (email)"), "\(message)")
            #expect(message.contains("null_updates was ignore, now apply"), "\(message)")
        }
    }
}
