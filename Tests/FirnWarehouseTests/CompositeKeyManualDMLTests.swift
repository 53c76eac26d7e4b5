import FirnCore
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// Manual DML on an entity keyed by two columns, one of them text (the triggers and the rewind
/// match keys column by column): generated loads with late and far-future records, then
/// UPDATE, DELETE, REPLACE, upserts and key moves. History must not change until the stream is
/// consumed, and then both tables must equal ``ReferenceModel``.
@Suite struct CompositeKeyManualDMLTests {
    static func entity() throws -> EntityConfiguration {
        try EntityConfiguration(
            name: "product",
            keyColumns: [Column("region", .text), Column("sku", .integer)],
            attributeColumns: [Column("title", .text), Column("price", .text)]
        )
    }

    /// A warehouse of the entity that remembers every record it took, file or manual.
    final class Store {
        let base: TestWarehouse
        var warehouse: any Warehouse { base.warehouse }
        var loaded: [ChangeRecord] = []
        var files = 0
        init(entity: EntityConfiguration, backend: TestBackend) async throws {
            base = try await TestWarehouse.open(backend, entity: entity)
        }
        func load(_ drafts: [(Key, Timestamp, FirnCore.Operation, [Value])]) async throws {
            files += 1
            let content = FileContent(name: "f\(files).csv", checksum: "c\(files)", sizeBytes: 10)
            guard case .load(let ticket) = try await warehouse.beginLoad(content) else { return }
            let records = drafts.enumerated().map { i, d in
                ChangeRecord(
                    key: d.0,
                    eventTime: d.1,
                    operation: d.2,
                    attributes: d.3,
                    arrival: Arrival(load: ticket.id, row: Int64(i + 1))
                )
            }
            try await warehouse.applyChunk(ticket, RecordChunk(records: records, rejects: [], lastRow: Int64(records.count)))
            try await warehouse.finishLoad(ticket)
            loaded += records
        }
        func rows(_ sql: String) async throws -> [[Cell]] { try await warehouse.query(sql).result.rows.map { $0.map(Cell.init) } }
        var history: [[Cell]] {
            get async throws {
                try await rows(
                    "SELECT region, sku, title, price, start_time, end_time, is_current FROM product_history ORDER BY region, sku, start_time"
                )
            }
        }
        var current: [[Cell]] {
            get async throws {
                try await rows("SELECT region, sku, title, price, update_timestamp FROM product ORDER BY region, sku")
            }
        }
        var seq: Int64 = 0
        /// Notes the change log's new entries as records, as the contract defines them.
        func logged() async throws {
            let result = try await warehouse.query(
                "SELECT seq, action, changed_at, old_region, old_sku, old_title, old_price, new_region, new_sku, new_title, new_price FROM product_changes WHERE seq > \(seq) ORDER BY seq"
            ).result.rows
            for row in result {
                guard case .integer(let n) = row[0], case .text(let action) = row[1], case .text(let at) = row[2],
                    let time = Timestamp(canonical: at)
                else { continue }
                seq = n
                let old = Array(row[3..<7])
                let new = Array(row[7..<11])
                let arrival = Arrival(load: 1_000_000, row: n)
                func rec(_ image: [Value], _ op: FirnCore.Operation) -> ChangeRecord {
                    ChangeRecord(
                        key: Key(Array(image[0..<2])),
                        eventTime: time,
                        operation: op,
                        attributes: Array(image[2...]),
                        arrival: arrival
                    )
                }
                if action != "INSERT" && (action == "DELETE" || Array(old[0..<2]) != Array(new[0..<2])) {
                    loaded.append(rec(old, .delete))
                }
                if action != "DELETE" { loaded.append(rec(new, .upsert)) }
            }
        }
    }

    /// DML on SCD1 that moves, replaces and upserts keys of two columns, in the backend's
    /// dialect (on PostgreSQL, `ON CONFLICT` and guarded moves where SQLite says `OR REPLACE`
    /// or `OR IGNORE`).
    static func statement(_ rng: inout SeededGenerator, on backend: TestBackend) -> String {
        let region = ["'a'", "'b'", "'c'"][rng.int(0...2)]
        let sku = rng.int(1...4)
        let title = ["'x'", "'y'", "NULL", "'z'"][rng.int(0...3)]
        let postgres = backend == .postgres
        switch rng.int(0...9) {
        case 0: return "UPDATE product SET title = \(title) WHERE region = \(region) AND sku = \(sku)"
        case 1: return "DELETE FROM product WHERE region = \(region) AND sku = \(sku)"
        case 2:
            let values = "(region, sku, title, price, update_timestamp) VALUES (\(region), \(sku), \(title), '1.5', NULL)"
            return postgres
                ? "INSERT INTO product \(values) ON CONFLICT (region, sku) DO UPDATE SET title = excluded.title, "
                    + "price = excluded.price, update_timestamp = excluded.update_timestamp"
                : "INSERT OR REPLACE INTO product \(values)"
        case 3:
            let values = "(region, sku, title, price) VALUES (\(region), \(sku), \(title), '2')"
            return postgres
                ? "INSERT INTO product \(values) ON CONFLICT (region, sku) DO NOTHING" : "INSERT OR IGNORE INTO product \(values)"
        case 4:
            let target = rng.int(1...4)
            guard postgres else {
                return "UPDATE OR REPLACE product SET sku = \(target) WHERE region = \(region) AND sku = \(sku)"
            }
            return "DELETE FROM product WHERE region = \(region) AND sku = \(target) AND \(target) <> \(sku) "
                + "AND EXISTS (SELECT 1 FROM product WHERE region = \(region) AND sku = \(sku)); "
                + "UPDATE product SET sku = \(target) WHERE region = \(region) AND sku = \(sku)"
        case 5:
            guard postgres else { return "UPDATE OR REPLACE product SET region = \(region) WHERE sku = \(sku)" }
            return "UPDATE product SET region = \(region) WHERE sku = \(sku) "
                + "AND region = (SELECT min(region) FROM product WHERE sku = \(sku)) "
                + "AND NOT EXISTS (SELECT 1 FROM product WHERE region = \(region) AND sku = \(sku))"
        case 6: return "UPDATE product SET title = \(title)"
        case 7:
            return
                "INSERT INTO product (region, sku, title, price) VALUES (\(region), \(sku), \(title), '3') ON CONFLICT "
                + (postgres ? "(region, sku) " : "") + "DO UPDATE SET price = excluded.price || 'u'"
        case 8:
            let rows = "INTO product (region, sku, title, price) SELECT region, sku + 1, title, price FROM product WHERE region = \(region)"
            return postgres
                ? "INSERT \(rows) ON CONFLICT (region, sku) DO UPDATE SET title = excluded.title, price = excluded.price, "
                    + "update_timestamp = NULL"
                : "REPLACE \(rows)"
        default:
            guard postgres else {
                return "UPDATE OR IGNORE product SET region = \(region), sku = \(sku) WHERE title IS \(title)"
            }
            return "UPDATE product SET region = \(region), sku = \(sku) WHERE ctid = (SELECT ctid FROM product "
                + "WHERE title IS NOT DISTINCT FROM \(title) ORDER BY region, sku LIMIT 1) "
                + "AND NOT EXISTS (SELECT 1 FROM product WHERE region = \(region) AND sku = \(sku))"
        }
    }

    @Test(arguments: TestBackend.allCases) func manualDMLOnACompositeTextKeyMatchesReferenceModel(
        backend: TestBackend
    ) async throws {
        var failures = 0
        for seed in caseSeeds(count: backend.cases(300), salt: 77) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let store = try await Store(entity: try Self.entity(), backend: backend)
            var statements: [String] = []
            for round in 0..<rng.int(1...5) {
                var drafts: [(Key, Timestamp, FirnCore.Operation, [Value])] = []
                for _ in 0..<rng.int(0...8) {
                    let key = Key([.text(["a", "b", "c"][rng.int(0...2)]), .integer(Int64(rng.int(1...4)))])
                    let op: FirnCore.Operation = rng.chance(0.2) ? .delete : .upsert
                    // Some late records, some far-future ones.
                    let t =
                        rng.chance(0.1) ? Timestamp(year: 2099, month: 1, day: 1)! : at(rng.int(0...40) + round * 10)
                    drafts.append((key, t, op, [.text(["x", "y", "w"][rng.int(0...2)]), .text("1")]))
                }
                try await store.load(drafts)
                if rng.chance(0.8) {
                    let before = try await store.history
                    for _ in 0..<rng.int(1...4) {
                        let sql = Self.statement(&rng, on: backend)
                        statements.append(sql)
                        _ = try await store.warehouse.query(sql)
                        let after = try await store.history
                        if after != before {
                            Issue.record("seed \(seed): history changed by \(sql)")
                            failures += 1
                        }
                    }
                    try await store.logged()
                    if rng.chance(0.5) { try await store.warehouse.consumeStream() }
                }
            }
            try await store.warehouse.consumeStream()
            let expected = ReferenceModel.history(store.loaded).map(\.historyRow)
            let expectedCurrent = ReferenceModel.current(store.loaded).map(\.currentRow)
            let h = try await store.history
            let c = try await store.current
            if h != expected || c != expectedCurrent {
                failures += 1
                Issue.record(
                    "seed \(seed)\nstatements: \(statements.joined(separator: "\n"))\nhistory: \(h)\nexpected: \(expected)\ncurrent: \(c)\nexpected: \(expectedCurrent)"
                )
            }
        }
    }
}
