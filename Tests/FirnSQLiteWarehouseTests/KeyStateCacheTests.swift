import FirnCore
import FirnTestSupport
import FirnSQLiteWarehouse
import FirnWarehouse
import Testing

/// The writer's in-memory key states must never outlive what the database holds: another
/// connection (another `firn` process) writing the same keys in between must be noticed.
@Suite struct KeyStateCacheTests {
    /// Two warehouses on one file, as two processes would be, take turns loading files of the
    /// same keys (in order, late and equal-time records); the result must equal the model.
    @Test func anotherWriterInvalidatesRememberedKeyStates() async throws {
        var failures = 0
        for seed in 0..<UInt64(120) where failures < 3 {
            var rng = SeededGenerator(seed: seed &* 7919 &+ 17)
            let first = try TestWarehouse()
            let second = try SQLiteWarehouse(path: first.directory.appendingPathComponent("firn.sqlite").path)
            var loaded: [ChangeRecord] = []
            let drafts = SCDCases.drafts(&rng, distinctTimes: false)
            let files = SCDCases.files(drafts, &rng, prefix: "s\(seed)-")
            for (index, file) in files.enumerated() {
                let writer = index % 2 == 0 ? first.sqlite : second
                guard case .load(let ticket) = try await writer.beginLoad(file.content) else { continue }
                let records = file.records(load: ticket.id)
                for chunk in TestWarehouse.chunks(records, sizes: SCDCases.chunkSizes(&rng)) {
                    try await writer.applyChunk(ticket, chunk)
                }
                try await writer.finishLoad(ticket)
                loaded += records
            }
            let expectedHistory = ReferenceModel.history(loaded).map(\.historyRow)
            let same = try await first.historyRows() == expectedHistory
            #expect(same, "seed \(seed): files \(files)")
            if !same { failures += 1 }
        }
    }

    /// Repeated in-order batches of one writer use remembered states (no probes) and stay exact.
    @Test func inOrderBatchesUseRememberedStates() async throws {
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
            guard case .load(let ticket) = try await warehouse.warehouse.beginLoad(file.content) else { continue }
            let records = file.records(load: ticket.id)
            cached += try await warehouse.warehouse.applyChunk(
                ticket,
                RecordChunk(records: records, rejects: [], lastRow: Int64(records.count))
            ).cachedKeys
            try await warehouse.warehouse.finishLoad(ticket)
            warehouse.noteLoaded(records)
        }
        // A fresh warehouse written by one writer: its states hold every key, so even the
        // first batch's new keys need no probe.
        #expect(cached == 6 * 30)
        await #expect(try warehouse.historyRows() == ReferenceModel.history(warehouse.loaded).map(\.historyRow))
    }

    /// Complete states (every key known, new ones without a probe) hold only while nothing
    /// else writes: after another connection's load, new and old keys are probed again, and
    /// the tables stay exact throughout, late records included.
    @Test func anotherWriterEndsCompleteStates() async throws {
        let store = try TestWarehouse()
        let other = try SQLiteWarehouse(path: store.directory.appendingPathComponent("firn.sqlite").path)
        func load(_ warehouse: SQLiteWarehouse, _ name: String, _ rows: [Draft]) async throws -> ApplyCounts {
            let file = TestFile(name: name, checksum: name, rows: rows)
            guard case .load(let ticket) = try await warehouse.beginLoad(file.content) else { return ApplyCounts() }
            let records = file.records(load: ticket.id)
            let counts = try await warehouse.applyChunk(
                ticket,
                RecordChunk(records: records, rejects: [], lastRow: Int64(records.count)),
                finishing: true
            )
            store.noteLoaded(records)
            return counts
        }
        func rows(_ keys: ClosedRange<Int64>, at seconds: Int, _ name: String) -> [Draft] {
            keys.map { Draft(key: $0, time: at(seconds), operation: .upsert, attributes: person(name)) }
        }
        // Fresh: all 10 keys known without a probe.
        #expect(try await load(store.sqlite, "a.csv", rows(1...10, at: 10, "Ann")).cachedKeys == 10)
        // New keys 11-15 and late records for 1-5 (recomputed), still without probes.
        let mixed = rows(11...15, at: 20, "Bob") + rows(1...5, at: 5, "Cai")
        let second = try await load(store.sqlite, "b.csv", mixed)
        #expect(second.cachedKeys == 10)
        #expect(second.recomputedKeys == 5)
        // Another writer loads keys 6-20; this writer must notice and probe every key again.
        _ = try await load(other, "c.csv", rows(6...20, at: 30, "Dan"))
        let third = try await load(store.sqlite, "d.csv", rows(1...25, at: 40, "Eve"))
        #expect(third.cachedKeys == 0)
        await #expect(try store.historyRows() == ReferenceModel.history(store.loaded).map(\.historyRow))
        await #expect(try store.currentRows() == ReferenceModel.current(store.loaded).map(\.currentRow))
    }
}
