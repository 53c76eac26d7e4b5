import FirnCore
import FirnTestSupport
import FirnWarehouse
import Testing

/// The writer's in-memory key states must never outlive what the database holds: another
/// connection (another `firn` process) writing the same keys in between must be noticed.
@Suite struct KeyStateCacheTests {
    /// Two warehouses on one file, as two processes would be, take turns loading files of the
    /// same keys (in order, late and equal-time records); the result must equal the model.
    @Test func anotherWriterInvalidatesRememberedKeyStates() throws {
        var failures = 0
        for seed in 0..<UInt64(120) where failures < 3 {
            var rng = SeededGenerator(seed: seed &* 7919 &+ 17)
            let first = try TestWarehouse()
            let second = try SQLiteWarehouse(path: first.directory.appendingPathComponent("firn.sqlite").path)
            var loaded: [ChangeRecord] = []
            let drafts = SCDPropertyTests.drafts(&rng, distinctTimes: false)
            let files = SCDPropertyTests.files(drafts, &rng, prefix: "s\(seed)-")
            for (index, file) in files.enumerated() {
                let writer = index % 2 == 0 ? first.warehouse : second
                guard case .load(let ticket) = try writer.beginLoad(file.content) else { continue }
                let records = file.records(load: ticket.id)
                for chunk in TestWarehouse.chunks(records, sizes: SCDPropertyTests.chunkSizes(&rng)) {
                    try writer.applyChunk(ticket, chunk)
                }
                try writer.finishLoad(ticket)
                loaded += records
            }
            let expectedHistory = ReferenceModel.history(loaded).map(\.historyRow)
            let same = try first.historyRows() == expectedHistory
            #expect(same, "seed \(seed): files \(files)")
            if !same { failures += 1 }
        }
    }

    /// Repeated in-order batches of one writer use remembered states (no probes) and stay exact.
    @Test func inOrderBatchesUseRememberedStates() throws {
        let warehouse = try TestWarehouse()
        var rng = SeededGenerator(seed: 99)
        var cached = 0
        for batch in 0..<6 {
            let rows = (1...30).map { key in
                Draft(
                    key: Int64(key),
                    time: Timestamp(microseconds: Int64(batch * 1_000_000 + key)),
                    operation: rng.chance(0.1) ? .delete : .upsert,
                    attributes: (0..<7).map { _ in rng.chance(0.5) ? .text("v\(rng.int(0...2))") : .null }
                )
            }
            let file = TestFile(name: "b\(batch).csv", checksum: "c\(batch)", rows: rows)
            guard case .load(let ticket) = try warehouse.warehouse.beginLoad(file.content) else { continue }
            let records = file.records(load: ticket.id)
            cached += try warehouse.warehouse.applyChunk(
                ticket,
                RecordChunk(records: records, rejects: [], lastRow: Int64(records.count))
            ).cachedKeys
            try warehouse.warehouse.finishLoad(ticket)
            warehouse.noteLoaded(records)
        }
        #expect(cached == 5 * 30)
        #expect(try warehouse.historyRows() == ReferenceModel.history(warehouse.loaded).map(\.historyRow))
    }
}
