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
                rng.chance(0.6)
                ? byKey[draft.key] ?? .null : [.null, .text("gold"), .text("silver")].randomElement(using: &rng)!
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

    @Test(arguments: TestBackend.allCases) func aColumnAppearingPartWayMatchesTheModel(
        backend: TestBackend
    ) async throws {
        var failures = 0
        for seed in caseSeeds(count: backend.cases(200), salt: 7) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let drafts = Self.withTier(SCDCases.drafts(&rng, distinctTimes: false), &rng)
            var files = SCDCases.files(drafts, &rng).shuffled(using: &rng)
            let cut = rng.int(0...files.count)
            for index in files.indices where index < cut || rng.chance(0.3) {
                files[index] = Self.lackingTier(files[index])
            }
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

    /// Drafts with an integer-or-decimal `points` each (decimals as their canonical text).
    static func withPoints(_ drafts: [Draft], _ rng: inout SeededGenerator) -> [Draft] {
        var byKey: [Int64: Value] = [:]
        return drafts.map { draft in
            var draft = draft
            let choices: [Value] = [.null, .integer(1), .integer(2), .text("2.5"), .text("-0.75")]
            let points: Value = rng.chance(0.6) ? byKey[draft.key] ?? .null : choices.randomElement(using: &rng)!
            byKey[draft.key] = points
            draft.attributes.append(draft.operation == .delete ? .null : points)
            return draft
        }
    }

    /// The file as an integer column reads it: decimals cut to integers.
    static func integral(_ file: TestFile) -> TestFile {
        var file = file
        file.rows = file.rows.map { draft in
            var draft = draft
            if case .text(let text) = draft.attributes[7] {
                draft.attributes[7] = .integer(Int64(Double(text)!.rounded(.down)))
            }
            return draft
        }
        return file
    }

    /// Generated cases of an integer attribute widened to a decimal part way: files before the
    /// change hold integers only; files after it hold decimals, and integers as a reader that
    /// read them before the change has them. History and SCD1 must equal ``ReferenceModel``
    /// over the records with every amount as decimal text (what the change makes of them).
    @Test(arguments: TestBackend.allCases) func aColumnWidenedPartWayMatchesTheModel(backend: TestBackend) async throws
    {
        var failures = 0
        for seed in caseSeeds(count: backend.cases(100), salt: 11) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let drafts = Self.withPoints(SCDCases.drafts(&rng, distinctTimes: false), &rng)
            var files = SCDCases.files(drafts, &rng).shuffled(using: &rng)
            let cut = rng.int(0...files.count)
            for index in files.indices where index < cut { files[index] = Self.integral(files[index]) }
            var entity = EntityConfiguration.customer
            entity.attributeColumns.append(Column("points", .integer))
            entity.schemaEvolution = .evolve
            entity.deletes = rng.chance(0.3) ? .record : .close
            let store = try await TestWarehouse.open(backend, entity: entity)
            try await SCDPropertyTests.loadAll(Array(files[..<cut]), into: store, &rng)
            _ = try await store.warehouse.widenAttributes([Column("points", .decimal)], file: "f\(cut).csv")
            try await SCDPropertyTests.loadAll(Array(files[cut...]), into: store, &rng)

            var records = store.loaded
            for index in records.indices {
                if case .integer(let amount) = records[index].attributes[7] {
                    records[index].attributes[7] = .text(String(amount))
                }
            }
            let recordDeletes = entity.deletes == .record
            let columns = TestWarehouse.attributeNames.joined(separator: ", ") + ", points"
            let history = try await store.warehouse.query(
                "SELECT customer_id, \(columns), start_time, end_time, is_current\(recordDeletes ? ", is_deleted" : "") "
                    + "FROM customer_history ORDER BY customer_id, start_time"
            ).result.rows.map { $0.map(Cell.init) }
            let current = try await store.warehouse.query(
                "SELECT customer_id, \(columns), update_timestamp FROM customer ORDER BY customer_id"
            ).result.rows.map { $0.map(Cell.init) }
            let expectedHistory = ReferenceModel.history(records, recordDeletes: recordDeletes).map {
                recordDeletes ? $0.historyRowWithDeletes : $0.historyRow
            }
            let expectedCurrent = ReferenceModel.current(records).map(\.currentRow)
            await store.close()
            guard history != expectedHistory || current != expectedCurrent else { continue }
            failures += 1
            Issue.record(
                """
                seed \(seed): warehouse differs from the reference model (replay with FIRN_SCD_SEED=\(seed)); points widened \
                before file \(cut) of \(files.count)
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
