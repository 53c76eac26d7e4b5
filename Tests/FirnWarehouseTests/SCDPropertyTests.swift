import FirnCore
import FirnTestSupport
import FirnWarehouse
import Testing

/// Generated cases: random records, files, load orders, chunk sizes, re-deliveries and
/// resumed chunks, loaded into a fresh SQLite warehouse and compared with ``ReferenceModel``.
///
/// Every case runs from its own seed; a failure prints it. Replay one case with
/// `FIRN_SCD_SEED=<seed> swift test --filter SCDPropertyTests`.
@Suite struct SCDPropertyTests {
    /// Loads files into `store` in the given order with random chunking, sometimes applying a
    /// chunk twice, re-delivering a file, or delivering a changed file under the same name.
    static func loadAll(_ files: [TestFile], into store: TestWarehouse, _ rng: inout SeededGenerator) async throws {
        var delivered: [TestFile] = []
        var remaining = files[...]
        while var file = remaining.popFirst() {
            if !remaining.isEmpty, rng.chance(0.25) {
                // Several files in one transaction, the first perhaps resumed part way.
                let batch = [file] + remaining.prefix(rng.int(1...3))
                remaining = remaining.dropFirst(batch.count - 1)
                try await loadTogether(batch, into: store, prefix: rng.chance(0.5) ? rng.int(0...file.rows.count) : 0)
                delivered += batch
                continue
            }
            if let previous = delivered.randomElement(using: &rng), rng.chance(0.15) {
                // A changed file under an earlier name: new content, loaded in full.
                file.name = previous.name
                file.checksum += "-changed"
            }
            if rng.chance(0.25) {
                try await loadResuming(file, into: store, &rng)
            } else {
                try await store.load(file, chunkSizes: SCDCases.chunkSizes(&rng))
            }
            delivered.append(file)
            if let again = delivered.randomElement(using: &rng), rng.chance(0.3) {
                let before = try await store.snapshot()
                let ticket = try await store.load(again, chunkSizes: SCDCases.chunkSizes(&rng))
                #expect(ticket == nil, "re-delivered \(again.name) was loaded again")
                await #expect(try store.snapshot() == before, "re-delivered \(again.name) changed the tables")
            }
        }
    }

    /// Loads files as one batch and checks that each keeps its own load history row, and that
    /// the per-file counts add up to the batch's.
    static func loadTogether(_ batch: [TestFile], into store: TestWarehouse, prefix: Int) async throws {
        let (counts, tickets) = try await store.loadTogether(batch, prefix: prefix)
        #expect(tickets.count == batch.count, "a fresh file of a batch was skipped")
        for (file, ticket) in zip(batch, tickets) {
            let summary = try await store.warehouse.loadSummary(ticket.id)
            #expect(summary?.status == "loaded", "\(file.name) in a batch: \(String(describing: summary))")
            #expect(summary?.rowsLoaded == Int64(file.rows.count), "\(file.name) in a batch: rows loaded")
        }
        #expect(counts.parts.count == tickets.count)
        #expect(counts.parts.map(\.staged).reduce(0, +) == counts.total.staged)
        #expect(counts.parts.map(\.versionsOpened).reduce(0, +) == counts.total.versionsOpened)
        #expect(counts.parts.map(\.versionsClosed).reduce(0, +) == counts.total.versionsClosed)
        #expect(counts.parts.map(\.lateRecords).reduce(0, +) == counts.total.lateRecords)
    }

    /// Loads a file chunk by chunk, re-applying an already applied chunk along the way, as a
    /// resumed load does; the re-applied chunk must change nothing.
    static func loadResuming(_ file: TestFile, into store: TestWarehouse, _ rng: inout SeededGenerator) async throws {
        guard case .load(let ticket) = try await store.warehouse.beginLoad(file.content) else {
            Issue.record("fresh content \(file.name) reported as already loaded")
            return
        }
        let records = file.records(load: ticket.id)
        let chunks = TestWarehouse.chunks(records, sizes: SCDCases.chunkSizes(&rng))
        for (index, chunk) in chunks.enumerated() {
            try await store.warehouse.applyChunk(ticket, chunk)
            let again = chunks[rng.int(0...index)]
            let before = try await store.snapshot()
            let counts = try await store.warehouse.applyChunk(ticket, again)
            #expect(counts == ApplyCounts(), "re-applied chunk ending at row \(again.lastRow) counted \(counts)")
            await #expect(try store.snapshot() == before, "re-applied chunk ending at row \(again.lastRow) changed tables")
        }
        store.noteLoaded(records)
        try await store.warehouse.finishLoad(ticket)
    }

    /// Compares both tables with the model and checks the invariants, and the late records
    /// when `lateRecords` (the model takes records in the order of their arrivals, which
    /// manual records only have once the stream is consumed, inside a chunk or on its own:
    /// ManualDMLTests check theirs by example).
    static func verify(
        _ store: TestWarehouse,
        seed: UInt64,
        files: [TestFile],
        lateRecords: Bool = true
    ) async throws -> Bool {
        let history = try await store.historyRows()
        let current = try await store.currentRows()
        // The entity's policy, as positions and a flag: the model spells the rules out itself.
        let policy = store.warehouse.entity.historyPolicy
        let (untracked, ignoreNulls) = (Set(policy.untracked), policy.nullUpdates == .ignore)
        let recordDeletes = store.warehouse.entity.deletes == .record
        let expectedHistory = ReferenceModel.history(
            store.loaded,
            untracked: untracked,
            ignoreNulls: ignoreNulls,
            recordDeletes: recordDeletes
        ).map { recordDeletes ? $0.historyRowWithDeletes : $0.historyRow }
        let expectedCurrent = ReferenceModel.current(store.loaded, untracked: untracked, ignoreNulls: ignoreNulls)
            .map(\.currentRow)
        var problems = invariantViolations(history: history, current: current)
        var late: [LateRecord] = []
        for key in Set(store.loaded.map(\.key)).sorted() where lateRecords {
            late += try await store.warehouse.lateRecords(of: key)
        }
        let expectedLate = lateRecords ? ReferenceModel.lateRecords(store.loaded) : []
        if late != expectedLate {
            problems.append("late records: \(late.map(Self.describe)) expected \(expectedLate.map(Self.describe))")
        }
        guard history != expectedHistory || current != expectedCurrent || !problems.isEmpty else { return true }
        let records = store.loaded.map {
            "\($0.arrival.load).\($0.arrival.row) \($0.operation.rawValue) "
                + "key=\($0.key) t=\($0.eventTime) \($0.attributes.map { Cell($0).description })"
        }
        Issue.record(
            """
            seed \(seed): warehouse differs from the reference model (replay with FIRN_SCD_SEED=\(seed))
            records (load.row): \(records.joined(separator: "\n    "))
            history:  \(history.map(\.description).joined(separator: "\n    "))
            expected: \(expectedHistory.map(\.description).joined(separator: "\n    "))
            current:  \(current.map(\.description).joined(separator: "\n    "))
            expected: \(expectedCurrent.map(\.description).joined(separator: "\n    "))
            policy: \(policy), deletes: \(store.warehouse.entity.deletes)
            invariants: \(problems)
            files: \(files.map(\.description).joined(separator: "\n"))
            """
        )
        return false
    }

    static func describe(_ late: LateRecord) -> String {
        "\(late.loadID).\(late.row) key=\(late.key) t=\(late.eventTime) after \(late.latestBefore)"
    }

    @Test(arguments: TestBackend.allCases) func historyMatchesReferenceModel(backend: TestBackend) async throws {
        var failures = 0
        for seed in caseSeeds(count: backend.cases(500), salt: 1) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let files = SCDCases.files(SCDCases.drafts(&rng, distinctTimes: false), &rng).shuffled(using: &rng)
            // Now and then a memory of a few keys only: complete states then let keys go and
            // must probe exactly those again (``EvictedKeys``).
            let capacity = rng.chance(0.3) ? rng.int(1...6) : nil
            let store = try await TestWarehouse.open(backend, keyStateCapacity: capacity)
            try await Self.loadAll(files, into: store, &rng)
            if try await !Self.verify(store, seed: seed, files: files) { failures += 1 }
        }
    }

    /// The same, for an entity with a random history policy: some attributes untracked
    /// (`track_history_except`), NULLs applied or ignored (`null_updates`), deleted spans
    /// shown or not (`deletes`).
    @Test(arguments: TestBackend.allCases) func historyUnderRandomPoliciesMatchesReferenceModel(backend: TestBackend) async throws {
        var failures = 0
        for seed in caseSeeds(count: backend.cases(300), salt: 3) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            var entity = EntityConfiguration.customer
            entity.untrackedAttributes = Set(entity.attributeColumns.map(\.name).filter { _ in rng.chance(0.4) })
            entity.nullUpdates = rng.chance(0.5) ? .ignore : .apply
            entity.deletes = rng.chance(0.5) ? .record : .close
            let files = SCDCases.files(SCDCases.drafts(&rng, distinctTimes: false), &rng).shuffled(using: &rng)
            let store = try await TestWarehouse.open(backend, entity: entity)
            try await Self.loadAll(files, into: store, &rng)
            if try await !Self.verify(store, seed: seed, files: files) { failures += 1 }
        }
    }

    @Test(arguments: TestBackend.allCases) func orderAndChunkingDoNotMatterGivenDistinctEventTimes(backend: TestBackend) async throws {
        var failures = 0
        for seed in caseSeeds(count: backend.cases(200), salt: 2) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let files = SCDCases.files(SCDCases.drafts(&rng, distinctTimes: true), &rng)
            let first = try await TestWarehouse.open(backend)
            for file in files.shuffled(using: &rng) { try await first.load(file, chunkSizes: SCDCases.chunkSizes(&rng)) }
            let second = try await TestWarehouse.open(backend)
            for file in files.shuffled(using: &rng) { try await second.load(file, chunkSizes: SCDCases.chunkSizes(&rng)) }
            let same = try await first.snapshot() == second.snapshot()
            #expect(same, "seed \(seed): two load orders differ (replay with FIRN_SCD_SEED=\(seed))")
            let verified = try await Self.verify(first, seed: seed, files: files)
            if !same || !verified { failures += 1 }
        }
    }
}
