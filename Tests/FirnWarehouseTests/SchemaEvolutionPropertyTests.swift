import FirnCore
import FirnTestSupport
import FirnWarehouse
import Testing

/// Generated cases of a column appearing part way: random records with an eighth attribute
/// `tier`, spread over files loaded in random order and chunks; at a random file the attribute
/// is added, files before it lack it, and files after it have it or not. History and SCD1 must
/// equal ``ReferenceModel`` over the records as the contract reads them: NULL where a file
/// lacked the column.
@Suite struct SchemaEvolutionPropertyTests {
    static let tierSQL = TestWarehouse.attributeNames.joined(separator: ", ") + ", tier"
    static func historySQL(deletes: DeletePolicy) -> String {
        "SELECT customer_id, \(tierSQL), start_time, end_time, is_current\(deletes == .record ? ", is_deleted" : "") "
            + "FROM customer_history ORDER BY customer_id, start_time"
    }
    static let currentSQL = "SELECT customer_id, \(tierSQL), update_timestamp FROM customer ORDER BY customer_id"

    /// The drafts with a tier each: mostly one of a few values, so records repeat it.
    static func withTier(_ drafts: [Draft], _ rng: inout SeededGenerator) -> [Draft] {
        var byKey: [Int64: Value] = [:]
        return drafts.map { draft in
            var draft = draft
            let tier: Value =
                rng.chance(0.6) ? byKey[draft.key] ?? .null : [.null, .text("gold"), .text("silver")].randomElement(using: &rng)!
            byKey[draft.key] = tier
            draft.attributes.append(draft.operation == .delete ? .null : tier)
            return draft
        }
    }

    /// The file without the column: every record's tier dropped.
    static func lackingTier(_ file: TestFile) -> TestFile {
        var file = file
        file.rows = file.rows.map { draft in
            var draft = draft
            if draft.attributes.count == 8 { draft.attributes.removeLast() }
            return draft
        }
        return file
    }

    @Test(arguments: TestBackend.allCases) func aColumnAppearingPartWayMatchesTheModel(backend: TestBackend) async throws {
        var failures = 0
        for seed in caseSeeds(count: backend.cases(200), salt: 7) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let drafts = Self.withTier(SCDCases.drafts(&rng, distinctTimes: false), &rng)
            var files = SCDCases.files(drafts, &rng).shuffled(using: &rng)
            let cut = rng.int(0...files.count)
            for index in files.indices where index < cut || rng.chance(0.3) { files[index] = Self.lackingTier(files[index]) }
            var entity = EntityConfiguration.customer
            entity.schemaEvolution = .evolve
            entity.deletes = rng.chance(0.3) ? .record : .close
            let store = try await TestWarehouse.open(backend, entity: entity)
            try await SCDPropertyTests.loadAll(Array(files[..<cut]), into: store, &rng)
            _ = try await store.warehouse.addAttributes([Column("tier")], file: "f\(cut).csv")
            try await SCDPropertyTests.loadAll(Array(files[cut...]), into: store, &rng)

            var records = store.loaded
            records.padAttributes(to: 8)
            let recordDeletes = entity.deletes == .record
            let history = try await store.warehouse.query(Self.historySQL(deletes: entity.deletes)).result.rows.map {
                $0.map(Cell.init)
            }
            let current = try await store.warehouse.query(Self.currentSQL).result.rows.map { $0.map(Cell.init) }
            let expectedHistory = ReferenceModel.history(records, recordDeletes: recordDeletes).map {
                recordDeletes ? $0.historyRowWithDeletes : $0.historyRow
            }
            let expectedCurrent = ReferenceModel.current(records).map(\.currentRow)
            let changes = try await store.warehouse.schemaHistory()
            guard history != expectedHistory || current != expectedCurrent || changes.count != 1 else { continue }
            failures += 1
            Issue.record(
                """
                seed \(seed): warehouse differs from the reference model (replay with FIRN_SCD_SEED=\(seed)); tier added \
                before file \(cut) of \(files.count); schema history \(changes.count) changes
                history:  \(history.map(\.description).joined(separator: "\n    "))
                expected: \(expectedHistory.map(\.description).joined(separator: "\n    "))
                current:  \(current.map(\.description).joined(separator: "\n    "))
                expected: \(expectedCurrent.map(\.description).joined(separator: "\n    "))
                files: \(files.map(\.description).joined(separator: "\n"))
                """
            )
        }
    }
}
