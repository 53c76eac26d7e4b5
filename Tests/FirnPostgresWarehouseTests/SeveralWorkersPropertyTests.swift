import FirnCore
import FirnPostgresWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// Several workers (each its own `PostgresWarehouse`, pool and remembered key states) load
/// generated files into one schema at once: each worker takes a random share of the files
/// (some files go to two workers, which then share the load), in random chunkings. History
/// must be what the reference model makes of the records in the order their chunks
/// committed (`firn_chunks`), each load applied exactly once and each row staged once.
///
/// Replay one case with `FIRN_SCD_SEED=<seed> swift test --filter SeveralWorkersPropertyTests`.
@Suite struct SeveralWorkersPropertyTests {
    /// One worker's part of a case: the files it loads, in order, and how it chunks each.
    struct Share: Sendable {
        var files: [TestFile]
        var chunkings: [[Int]]
    }

    @Test func workersSharingASchemaMakeTheHistoryOfTheirCommitOrder() async throws {
        var failures = 0
        for seed in caseSeeds(count: 40, salt: 31) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let files = SCDCases.files(SCDCases.drafts(&rng, distinctTimes: false), &rng)
            let location = try await PostgresTestServer.freshSchema()
            var workers: [PostgresWarehouse] = []
            for _ in 0..<rng.int(2...3) {
                // Small capacities now and then, so remembered states are also evicted.
                let capacity = rng.chance(0.2) ? rng.int(1...3) : KeyStateCache.defaultCapacity
                workers.append(try await PostgresWarehouse.open(location, maximumConnections: 2, keyStateCapacity: capacity))
            }
            var shares = Array(repeating: Share(files: [], chunkings: []), count: workers.count)
            for file in files {
                var takers = [rng.int(0...(workers.count - 1))]
                if rng.chance(0.3) { takers.append(rng.int(0...(workers.count - 1))) }
                for taker in takers {
                    shares[taker].files.append(file)
                    shares[taker].chunkings.append(SCDCases.chunkSizes(&rng))
                }
            }
            // Every worker loads its share at once; what each load was is kept by load id.
            let tickets = try await withThrowingTaskGroup(of: [(Int64, TestFile)].self) { group in
                for (worker, share) in zip(workers, shares) {
                    group.addTask { try await Self.load(share, into: worker) }
                }
                var all: [Int64: TestFile] = [:]
                for try await loaded in group { for (id, file) in loaded { all[id] = file } }
                return all
            }
            let records = try await Self.recordsInCommitOrder(tickets, warehouse: workers[0])
            let history = try await workers[0].query(TestWarehouse.historySQL).result.rows.map { $0.map(Cell.init) }
            let current = try await workers[0].query(TestWarehouse.currentSQL).result.rows.map { $0.map(Cell.init) }
            let expectedHistory = ReferenceModel.history(records).map(\.historyRow)
            let expectedCurrent = ReferenceModel.current(records).map(\.currentRow)
            let loadedOnce = try await workers[0].query(
                "SELECT count(*) FROM firn_loads WHERE status = 'loaded'"
            ).result.rows.first?.first
            // Staging holds every loaded row once, also those staged while another worker's
            // chunk had the turn.
            let staged = try await workers[0].query(
                "SELECT count(*), count(DISTINCT (load_id, source_row)) FROM customer_raw"
            ).result.rows.first ?? []
            let rows = Int64(records.count)
            #expect(staged == [.integer(rows), .integer(rows)], "seed \(seed): staging \(staged), \(rows) rows loaded")
            let same = history == expectedHistory && current == expectedCurrent
            #expect(same, "seed \(seed): \(workers.count) workers differ from the model (FIRN_SCD_SEED=\(seed))")
            #expect(loadedOnce == .integer(Int64(tickets.count)), "seed \(seed): loads \(String(describing: loadedOnce))")
            #expect(invariantViolations(history: history, current: current).isEmpty, "seed \(seed)")
            if !same { failures += 1 }
            for worker in workers { await worker.close() }
        }
    }

    /// Loads a worker's files in order; returns the load id of each file it began.
    static func load(_ share: Share, into warehouse: PostgresWarehouse) async throws -> [(Int64, TestFile)] {
        var begun: [(Int64, TestFile)] = []
        for (file, sizes) in zip(share.files, share.chunkings) {
            guard case .load(let ticket) = try await warehouse.beginLoad(file.content) else { continue }
            for chunk in TestWarehouse.chunks(file.records(load: ticket.id), sizes: sizes) {
                try await warehouse.applyChunk(ticket, chunk)
            }
            try await warehouse.finishLoad(ticket)
            begun.append((ticket.id, file))
        }
        return begun
    }

    /// Every loaded file's records, each arriving as the chunk that applied its row did.
    static func recordsInCommitOrder(_ tickets: [Int64: TestFile], warehouse: PostgresWarehouse) async throws
        -> [ChangeRecord]
    {
        let chunks = try await warehouse.query("SELECT chunk_id, load_id, first_row, last_row FROM firn_chunks")
            .result.rows.map { row in row.map { value -> Int64 in if case .integer(let n) = value { n } else { -1 } } }
        var records: [ChangeRecord] = []
        for (id, file) in tickets {
            for var record in file.records(load: id) {
                let chunk = chunks.first { $0[1] == id && $0[2] <= record.arrival.row && record.arrival.row <= $0[3] }
                #expect(chunk != nil, "row \(record.arrival.row) of load \(id) was applied by no chunk")
                record.arrival.load = chunk?[0] ?? -1
                records.append(record)
            }
        }
        return records
    }
}
