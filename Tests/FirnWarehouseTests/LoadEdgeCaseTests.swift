import FirnCore
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// Edge cases found in review: resumed and failed loads, the open-end time, names.
@Suite struct LoadEdgeCaseTests {
    static func record(
        _ key: Int64,
        _ attributes: [Value],
        _ time: Timestamp,
        load: Int64,
        row: Int64
    ) -> ChangeRecord {
        ChangeRecord(
            key: Key(key),
            eventTime: time,
            operation: .upsert,
            attributes: attributes,
            arrival: Arrival(load: load, row: row)
        )
    }

    /// Arrival is the order rows are applied: the rest of a load resumed after another load
    /// arrives after it, and wins a tie at an equal event time, whether the other load's record
    /// opened a version or changed nothing.
    @Test(arguments: TestBackend.allCases, [false, true])
    func resumedLoadArrivesAfterLoadsAppliedMeanwhile(
        backend: TestBackend,
        otherRecordChangesNothing: Bool
    ) async throws {
        let store = try await TestWarehouse.open(backend)
        let warehouse = store.warehouse
        let (ann, bob, cai) = (person("Ann"), person("Bob"), person("Cai"))
        let fileA = FileContent(name: "a.csv", checksum: "a", sizeBytes: 1)
        guard case .load(let first) = try await warehouse.beginLoad(fileA) else { throw CancellationError() }
        let a1 = Self.record(1, ann, at(1), load: first.id, row: 1)
        try await warehouse.applyChunk(first, RecordChunk(records: [a1], rejects: [], lastRow: 1))
        // The process dies; another file loads meanwhile.
        let fileB = FileContent(name: "b.csv", checksum: "b", sizeBytes: 1)
        guard case .load(let other) = try await warehouse.beginLoad(fileB) else { throw CancellationError() }
        let b1 = Self.record(1, otherRecordChangesNothing ? ann : cai, at(5), load: other.id, row: 1)
        try await warehouse.applyChunk(other, RecordChunk(records: [b1], rejects: [], lastRow: 1), finishing: true)
        guard case .load(let resumed) = try await warehouse.beginLoad(fileA) else { throw CancellationError() }
        #expect(resumed.id == first.id && resumed.resumeAfterRow == 1)
        let a2 = Self.record(1, bob, at(5), load: first.id, row: 2)
        try await warehouse.applyChunk(
            resumed,
            RecordChunk(records: [a1, a2], rejects: [], lastRow: 2),
            finishing: true
        )
        // For the model, the resumed row arrives after the other load.
        var a2Arrived = a2
        a2Arrived.arrival = Arrival(load: other.id + 1, row: 2)
        store.noteLoaded([a1, b1, a2Arrived])
        let expected = ReferenceModel.history(store.loaded)
        #expect(expected.last?.attributes == bob)
        await #expect(try store.historyRows() == expected.map(\.historyRow))
    }

    /// A load that failed after some chunks is resumed by the next attempt, never restaged.
    @Test(arguments: TestBackend.allCases) func failedPartialLoadIsResumedNotRestaged(backend: TestBackend) async throws
    {
        let store = try await TestWarehouse.open(backend)
        let warehouse = store.warehouse
        let file = FileContent(name: "a.csv", checksum: "a", sizeBytes: 1)
        guard case .load(let first) = try await warehouse.beginLoad(file) else { throw CancellationError() }
        let row1 = Self.record(1, person("Ann"), at(1), load: first.id, row: 1)
        try await warehouse.applyChunk(first, RecordChunk(records: [row1], rejects: [], lastRow: 1))
        try await warehouse.recordFailure(file, error: "read failed: EIO")
        guard case .load(let retry) = try await warehouse.beginLoad(file) else { throw CancellationError() }
        #expect(retry.id == first.id && retry.resumeAfterRow == 1)
        #expect(retry.defaultEventTime == first.defaultEventTime)
        let row2 = Self.record(2, person("Bob"), at(1), load: retry.id, row: 2)
        try await warehouse.applyChunk(
            retry,
            RecordChunk(records: [row1, row2], rejects: [], lastRow: 2),
            finishing: true
        )
        await #expect(try warehouse.query("SELECT count(*) FROM customer_raw").result.rows[0][0] == .integer(2))
        await #expect(try warehouse.loadSummary(first.id)?.status == "loaded")
    }

    /// The batched reads a loader makes for a group of files answer as one call per file would.
    @Test(arguments: TestBackend.allCases) func batchedLoadReadsEqualOneByOne(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        let warehouse = store.warehouse
        let partial = FileContent(name: "a.csv", checksum: "a", sizeBytes: 1)
        guard case .load(let first) = try await warehouse.beginLoad(partial) else { throw CancellationError() }
        try await warehouse.applyChunk(
            first,
            RecordChunk(
                records: [Self.record(1, person("Ann"), at(1), load: first.id, row: 1)],
                rejects: [],
                lastRow: 1
            )
        )
        let whole = FileContent(name: "b.csv", checksum: "b", sizeBytes: 1)
        guard case .load(let second) = try await warehouse.beginLoad(whole) else { throw CancellationError() }
        try await warehouse.applyChunk(second, RecordChunk(records: [], rejects: [], lastRow: 0), finishing: true)

        let names = ["a.csv", "b.csv", "c.csv", "a.csv"]
        let unfinished = try await warehouse.unfinishedLoads(named: names)
        #expect(Set(unfinished.keys) == ["a.csv", "b.csv", "c.csv"])
        for name in names {
            #expect(unfinished[name]?.map(\.id) == (try await warehouse.unfinishedLoads(named: name)).map(\.id))
        }
        #expect(unfinished["a.csv"]?.map(\.id) == [first.id])

        let summaries = try await warehouse.loadSummaries([first.id, second.id, 9_999])
        #expect(Set(summaries.keys) == [first.id, second.id])
        #expect(summaries[first.id] == (try await warehouse.loadSummary(first.id)))
        #expect(summaries[second.id]?.status == "loaded")
        await store.close()
    }

    /// Load history keeps when a file landed, when the loader knew it, and so its freshness;
    /// a file whose landing is unknown has neither.
    @Test(arguments: TestBackend.allCases) func loadHistoryKeepsWhenAFileLanded(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        let warehouse = store.warehouse
        let landed = Timestamp(microseconds: Timestamp.now().microseconds - 1_500_000)
        let file = FileContent(name: "landed.csv", checksum: "l", sizeBytes: 1, source: "file:bucket", landedAt: landed)
        guard case .load(let ticket) = try await warehouse.beginLoad(file) else { throw CancellationError() }
        let row = Self.record(1, person("Ann"), at(1), load: ticket.id, row: 1)
        try await warehouse.applyChunk(ticket, RecordChunk(records: [row], rejects: [], lastRow: 1), finishing: true)
        let summary = try #require(try await warehouse.loadSummary(ticket.id))
        #expect(summary.landedAt == landed.description)
        let freshness = try #require(summary.freshnessSeconds)
        #expect(freshness >= 1.5 && freshness < 60)
        #expect(try await warehouse.loadHistory(.first(1)).items.first?.landedAt == landed.description)

        let unknown = FileContent(name: "unknown.csv", checksum: "u", sizeBytes: 1)
        guard case .load(let other) = try await warehouse.beginLoad(unknown) else { throw CancellationError() }
        try await warehouse.finishLoad(other)
        let plain = try #require(try await warehouse.loadSummary(other.id))
        #expect(plain.landedAt == nil && plain.freshnessSeconds == nil)
    }

    /// A load another process marked failed stops with an error instead of reporting success.
    @Test(arguments: TestBackend.allCases) func chunkOfALoadFailedElsewhereIsRefused(backend: TestBackend) async throws
    {
        let store = try await TestWarehouse.open(backend)
        let warehouse = store.warehouse
        let file = FileContent(name: "a.csv", checksum: "a", sizeBytes: 1)
        guard case .load(let ticket) = try await warehouse.beginLoad(file) else { throw CancellationError() }
        try await warehouse.recordFailure(file, error: "read failed: EIO")
        let row = Self.record(1, person("Ann"), at(1), load: ticket.id, row: 1)
        await #expect(throws: WarehouseError.self) {
            try await warehouse.applyChunk(ticket, RecordChunk(records: [row], rejects: [], lastRow: 1))
        }
    }

    /// 9999-12-31 00:00:00 marks open versions' end, so no event may be at or after it.
    @Test func eventTimesAtOrAfterTheOpenEndAreRejected() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-edge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("end.csv")
        try """
        customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op
        1,A,B,C,D,E,F,G,9999-12-31T00:00:00Z,D
        2,A,B,C,D,E,F,G,9999-12-31T13:00:00Z,U
        3,A,B,C,D,E,F,G,9999-12-30T23:59:59.999999Z,U

        """.write(to: file, atomically: true, encoding: .utf8)
        var reader = try RecordFileReader(path: file.path, entity: .customer, load: 1, defaultEventTime: at(0))
        let chunk = try #require(try reader.nextChunk())
        #expect(chunk.records.map(\.key) == [Key(3)])
        #expect(chunk.rejects.map(\.row) == [1, 2])
        #expect(chunk.rejects.allSatisfy { $0.reason.contains("end of open versions") })
    }

    /// An attribute may share a name with Firn's internal columns of other tables.
    @Test func attributeNamedEventTimeOpens() throws {
        let entity = try EntityConfiguration(
            name: "thing",
            keyColumns: [Column("id", .integer)],
            attributeColumns: [
                Column("event_time", .text), Column("seq", .integer), Column("action", .text), Column("absent", .text),
            ]
        )
        _ = try TestWarehouse(entity: entity)
    }

    /// Names that would overflow Firn's derived names, or take Firn's own tables, are refused.
    @Test func namesThatCannotWorkAreRefused() {
        let long = Identifier(stringLiteral: String(repeating: "a", count: 61))
        #expect(throws: ConfigurationError.self) {
            try EntityConfiguration(
                name: "thing",
                keyColumns: [Column("id", .integer)],
                attributeColumns: [Column(long)]
            )
        }
        #expect(throws: ConfigurationError.self) {
            try EntityConfiguration(name: "firn_loads", keyColumns: [Column("id", .integer)], attributeColumns: [])
        }
    }

    /// A batch large enough that the PostgreSQL writer sends its known keys in several parts
    /// while it gathers the next (more than twice 5,000 keys), with updates, deletes, new keys
    /// and a few late records among them: both tables equal the model.
    @Test(arguments: TestBackend.allCases) func aLargeBatchOfKnownKeysMatchesTheModel(backend: TestBackend) async throws
    {
        let store = try await TestWarehouse.open(backend)
        let keys: Int64 = 12_000
        let base = (1...keys).map { key in
            Draft(
                key: key,
                time: at(Int(key)),
                operation: .upsert,
                attributes: person("N\(key)", city: .text("C\(key % 7)"))
            )
        }
        try await store.load(TestFile(name: "base.csv", checksum: "base", rows: base))
        var changes: [Draft] = []
        for key in 1...keys + 500 {
            let time = at(100_000 + Int(key))
            if key % 10 == 0 {
                changes.append(Draft(key: key, time: time, operation: .delete, attributes: []))
            } else if key % 97 == 0 {
                // Late: before the key's base record, so it is replayed.
                changes.append(
                    Draft(key: key, time: at(Int(key), micros: -1), operation: .upsert, attributes: person("Early"))
                )
            } else {
                changes.append(Draft(key: key, time: time, operation: .upsert, attributes: person("M\(key)")))
            }
        }
        try await store.load(TestFile(name: "changes.csv", checksum: "changes", rows: changes))
        let history = try await store.historyRows()
        #expect(history.count > Int(keys) + 10_000)
        #expect(history == ReferenceModel.history(store.loaded).map(\.historyRow))
        await #expect(try store.currentRows() == ReferenceModel.current(store.loaded).map(\.currentRow))
    }
}
