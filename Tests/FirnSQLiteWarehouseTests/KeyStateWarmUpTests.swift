import FirnCore
import FirnSQLiteWarehouse
import FirnTestSupport
import FirnWarehouse
import GRDB
import Testing

/// A new process reads every key's state at once (a warm-up) instead of probing keys one by
/// one, once that is cheaper: the tables must be exactly those the probes give.
@Suite struct KeyStateWarmUpTests {
    /// Each file is loaded by a newly opened warehouse, as by a new `firn load` process, with
    /// a small memory of key states, so that warm-ups happen (and are declined when the
    /// warehouse holds more keys than half of it); late, equal-time and deleted records
    /// included. History and SCD1 must equal the model's.
    @Test func reopenedWarehousesWarmUpAndMatchTheModel() async throws {
        var failures = 0
        var warmed = 0
        var declined = 0
        for seed in 0..<UInt64(150) where failures < 3 {
            var rng = SeededGenerator(seed: seed &* 6151 &+ 3)
            let store = try TestWarehouse()
            let path = store.directory.appendingPathComponent("firn.sqlite").path
            var loaded: [ChangeRecord] = []
            let drafts = SCDCases.drafts(&rng, distinctTimes: false)
            let files = SCDCases.files(drafts, &rng, prefix: "w\(seed)-")
            for file in files {
                var configuration = SQLiteConfiguration()
                configuration.keyStateCapacity = [2, 4, 8, 16, 64].randomElement(using: &rng)!
                let writer = try SQLiteWarehouse(path: path, configuration: configuration)
                guard case .load(let ticket) = try await writer.beginLoad(file.content) else { continue }
                let records = file.records(load: ticket.id)
                for chunk in TestWarehouse.chunks(records, sizes: SCDCases.chunkSizes(&rng)) {
                    let counts = try await writer.applyChunk(ticket, chunk)
                    warmed += counts.warmedKeys
                    if counts.warmedKeys == 0, counts.cachedKeys == 0, !chunk.records.isEmpty { declined += 1 }
                }
                try await writer.finishLoad(ticket)
                loaded += records
            }
            let history = try await store.historyRows()
            let current = try await store.currentRows()
            let same =
                history == ReferenceModel.history(loaded).map(\.historyRow)
                && current == ReferenceModel.current(loaded).map(\.currentRow)
            #expect(same, "seed \(seed): files \(files)")
            if !same { failures += 1 }
        }
        // Both paths ran: warm-ups, and batches whose keys were all probed.
        #expect(warmed > 100)
        #expect(declined > 10)
    }

    /// Every kind of key state a warm-up reads (an open version, a deleted key, a key with
    /// only unchanged records, an open version with a later unchanged record), then records
    /// in order and late for each: the warm-up knows every key, new ones too, and the tables
    /// equal the model's; with a memory too small for the keys, it declines and probes.
    @Test func aWarmUpReadsEveryKindOfKeyState() async throws {
        for capacity in [16, 4] {
            let store = try TestWarehouse()
            let path = store.directory.appendingPathComponent("firn.sqlite").path
            func writer(capacity: Int) throws -> SQLiteWarehouse {
                var configuration = SQLiteConfiguration()
                configuration.keyStateCapacity = capacity
                return try SQLiteWarehouse(path: path, configuration: configuration)
            }
            func load(_ name: String, _ rows: [Draft], on writer: SQLiteWarehouse) async throws -> ApplyCounts {
                let file = TestFile(name: name, checksum: name, rows: rows)
                guard case .load(let ticket) = try await writer.beginLoad(file.content) else { return ApplyCounts() }
                let records = file.records(load: ticket.id)
                let counts = try await writer.applyChunk(
                    ticket,
                    RecordChunk(records: records, rejects: [], lastRow: Int64(records.count)),
                    finishing: true
                )
                store.noteLoaded(records)
                return counts
            }
            func row(_ key: Int64, _ seconds: Int, _ name: String, _ operation: FirnCore.Operation = .upsert) -> Draft {
                Draft(key: key, time: at(seconds), operation: operation, attributes: person(name))
            }
            _ = try await load(
                "a.csv",
                [
                    row(1, 10, "Ann"),  // open
                    row(2, 10, "Bob"), row(2, 20, "Bob", .delete),  // deleted
                    row(3, 15, "Cai", .delete),  // a delete of nothing: only an unchanged record
                    row(4, 10, "Dan"), row(4, 30, "Dan"),  // open, with a later unchanged record
                ],
                on: try writer(capacity: 0)
            )
            // In order for 1 and 3, late for 2 (before its delete) and 4 (before its unchanged
            // record), and a new key 5.
            let warmed = try writer(capacity: capacity)
            let counts = try await load(
                "b.csv",
                [row(1, 40, "Ann2"), row(2, 15, "Bob2"), row(3, 40, "Cai2"), row(4, 25, "Dan2"), row(5, 40, "Eve")],
                on: warmed
            )
            if capacity == 16 {
                #expect(counts.warmedKeys == 4)
                #expect(counts.cachedKeys == 5)
            } else {
                #expect(counts.warmedKeys == 0)
                #expect(counts.cachedKeys == 0)
            }
            #expect(counts.recomputedKeys == 2)
            // The warm-up left no statement running on the writer's connection: after another
            // process commits, the same writer still begins its next write (a statement left
            // part way through would hold its old snapshot, and SQLite would refuse it).
            let other = try DatabaseQueue(path: path)
            try await other.write { db in try db.execute(sql: "CREATE TABLE IF NOT EXISTS other_process (x)") }
            try other.close()
            _ = try await load("c.csv", [row(5, 50, "Eve2")], on: warmed)
            await #expect(try store.historyRows() == ReferenceModel.history(store.loaded).map(\.historyRow))
            await #expect(try store.currentRows() == ReferenceModel.current(store.loaded).map(\.currentRow))
        }
    }
}
