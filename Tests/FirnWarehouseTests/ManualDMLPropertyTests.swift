import FirnCore
import FirnTestSupport
import FirnWarehouse
import Testing

/// Generated cases mixing file loads with manual DML on the SCD1 table (UPDATE, DELETE,
/// INSERT, REPLACE or ON CONFLICT, key changes, multi-row updates, assigned keys), on both
/// backends. Each logged change
/// is a record at its statement's time; after all changes are consumed, both tables must
/// equal ``ReferenceModel`` over file and manual records together. Until then, history must
/// show none of them (its open versions are SCD1's rows as they were before the DML).
@Suite struct ManualDMLPropertyTests {
    static let columns = TestWarehouse.attributeNames
    /// Manual records sort after every file of a case when event times tie (they never do:
    /// statement times are now, file times 2024 or 2099); among themselves by log sequence.
    static let manualLoad: Int64 = 1 << 40

    /// The records the change log holds after `seq`, as the contract defines them: an INSERT
    /// or UPDATE an upsert of the new row, a DELETE a delete of the old key, a key change both.
    static func loggedRecords(_ store: TestWarehouse, after seq: inout Int64) async throws -> [ChangeRecord] {
        let names = ["customer_id"] + columns
        let images = (names.map { "old_" + $0 } + names.map { "new_" + $0 }).joined(separator: ", ")
        let sql = "SELECT seq, action, changed_at, \(images) FROM customer_changes WHERE seq > \(seq) ORDER BY seq"
        var records: [ChangeRecord] = []
        for row in try await store.warehouse.query(sql).result.rows {
            guard case .integer(let number) = row[0], case .text(let action) = row[1],
                case .text(let changedAt) = row[2], let time = Timestamp(canonical: changedAt)
            else {
                Issue.record("unexpected change log row \(row)")
                continue
            }
            seq = number
            let old = Array(row[3..<11])
            let new = Array(row[11..<19])
            let arrival = Arrival(load: manualLoad, row: number)
            func record(_ image: [Value], _ operation: FirnCore.Operation) -> ChangeRecord {
                ChangeRecord(
                    key: Key([image[0]]),
                    eventTime: time,
                    operation: operation,
                    attributes: Array(image[1...]),
                    arrival: arrival
                )
            }
            if action != "INSERT" && (action == "DELETE" || old[0] != new[0]) { records.append(record(old, .delete)) }
            if action != "DELETE" { records.append(record(new, .upsert)) }
        }
        return records
    }

    @Test(arguments: TestBackend.allCases) func manualDMLInterleavedWithLoadsMatchesReferenceModel(
        backend: TestBackend
    ) async throws {
        var failures = 0
        for seed in caseSeeds(count: backend.cases(200), salt: 3) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let files = SCDCases.files(SCDCases.drafts(&rng, distinctTimes: false), &rng)
            // Every other case shows deleted spans (`deletes: record`), which the view derives
            // from SCD1's rows as they were before pending manual DML too.
            var entity = EntityConfiguration.customer
            entity.deletes = seed % 2 == 0 ? .record : .close
            let store = try await TestWarehouse.open(backend, entity: entity)
            var seen: Int64 = 0
            var statements: [String] = []
            for file in files.shuffled(using: &rng) {
                try await store.load(file, chunkSizes: SCDCases.chunkSizes(&rng))
                guard rng.chance(0.7) else { continue }
                let history = try await store.historyRows()
                for _ in 0..<rng.int(1...3) {
                    let sql = ManualDMLCases.statement(&rng, on: backend)
                    statements.append(sql)
                    _ = try await store.warehouse.query(sql)
                    await #expect(
                        try store.historyRows() == history,
                        "seed \(seed): history changed by \(sql) before the stream"
                    )
                }
                await store.noteLoaded(try Self.loggedRecords(store, after: &seen))
                // Consume now, or leave it to the next load's first chunk.
                if rng.chance(0.5) { try await store.warehouse.consumeStream() }
            }
            try await store.warehouse.consumeStream()
            await #expect(try store.warehouse.pendingStream().table.rows.isEmpty, "seed \(seed)")
            if try await !SCDPropertyTests.verify(store, seed: seed, files: files, lateRecords: false) {
                failures += 1
                print("seed \(seed) statements:\n\(statements.joined(separator: "\n"))")
            }
        }
    }
}
