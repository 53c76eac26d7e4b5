import FirnCore
import FirnTestSupport
import FirnWarehouse
import Testing

/// One named example per rule of DESIGN.md section 3, on a real SQLite warehouse, with the
/// expected tables written out by hand.
@Suite struct SCDContractTests {
    static let a = person("Ann")
    static let b = person("Bob")
    static let c = person("Cai")

    static func upsert(_ key: Int64, _ attributes: [Value], at time: Timestamp) -> Draft {
        Draft(key: key, time: time, operation: .upsert, attributes: attributes)
    }

    static func delete(_ key: Int64, at time: Timestamp) -> Draft {
        Draft(key: key, time: time, operation: .delete, attributes: Array(repeating: .null, count: 7))
    }

    static func file(_ name: String, _ rows: Draft..., checksum: String? = nil) -> TestFile {
        TestFile(name: name, checksum: checksum ?? "sum-\(name)", rows: rows)
    }

    static func version(_ key: Int64, _ attributes: [Value], _ start: Timestamp, _ end: Timestamp?) -> Version {
        Version(key: Key(key), attributes: attributes, start: start, end: end)
    }

    /// Checks both tables: history exactly `versions`, SCD1 exactly their open ones.
    static func expectTables(
        _ store: TestWarehouse,
        _ versions: [Version],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        #expect(try await store.historyRows() == versions.map(\.historyRow), sourceLocation: sourceLocation)
        let open = versions.filter(\.isCurrent).map(\.currentRow)
        #expect(try await store.currentRows() == open, sourceLocation: sourceLocation)
        let model = ReferenceModel.history(store.loaded)
        #expect(
            model.map(\.historyRow) == versions.map(\.historyRow),
            "the reference model disagrees with the example",
            sourceLocation: sourceLocation
        )
    }

    @Test(arguments: TestBackend.allCases) func severalChangesInOneBatchEachKeepTheirVersion(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        try await store.load(
            Self.file(
                "one.csv",
                Self.upsert(1, Self.a, at: at(1)),
                Self.upsert(1, Self.b, at: at(2)),
                Self.upsert(2, Self.a, at: at(1)),
                Self.upsert(1, Self.c, at: at(3))
            )
        )
        try await Self.expectTables(
            store,
            [
                Self.version(1, Self.a, at(1), at(2)), Self.version(1, Self.b, at(2), at(3)),
                Self.version(1, Self.c, at(3), nil), Self.version(2, Self.a, at(1), nil),
            ]
        )
    }

    @Test(arguments: TestBackend.allCases) func severalChangesInOneBatchOutOfOrderEachKeepTheirVersion(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        try await store.load(
            Self.file(
                "one.csv",
                Self.upsert(1, Self.c, at: at(3)),
                Self.upsert(1, Self.a, at: at(1)),
                Self.upsert(1, Self.b, at: at(2))
            )
        )
        try await Self.expectTables(
            store,
            [
                Self.version(1, Self.a, at(1), at(2)), Self.version(1, Self.b, at(2), at(3)),
                Self.version(1, Self.c, at(3), nil),
            ]
        )
    }

    @Test(arguments: TestBackend.allCases) func lateRecordSplitsVersionInForce(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        try await store.load(Self.file("early.csv", Self.upsert(1, Self.a, at: at(1)), Self.upsert(1, Self.c, at: at(3))))
        try await store.load(Self.file("late.csv", Self.upsert(1, Self.b, at: at(2))))
        try await Self.expectTables(
            store,
            [
                Self.version(1, Self.a, at(1), at(2)), Self.version(1, Self.b, at(2), at(3)),
                Self.version(1, Self.c, at(3), nil),
            ]
        )
        // Earlier than everything: a version before the first one, ending where it starts.
        try await store.load(Self.file("later.csv", Self.upsert(1, Self.c, at: at(0))))
        try await Self.expectTables(
            store,
            [
                Self.version(1, Self.c, at(0), at(1)), Self.version(1, Self.a, at(1), at(2)),
                Self.version(1, Self.b, at(2), at(3)), Self.version(1, Self.c, at(3), nil),
            ]
        )
    }

    @Test(arguments: TestBackend.allCases) func lateRecordLeavesSCD1Alone(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        try await store.load(Self.file("early.csv", Self.upsert(1, Self.a, at: at(1)), Self.upsert(1, Self.c, at: at(3))))
        let before = try await store.currentRows()
        try await store.load(Self.file("late.csv", Self.upsert(1, Self.b, at: at(2))))
        await #expect(try store.currentRows() == before)
        try await store.load(Self.file("late-delete.csv", Self.delete(1, at: at(2, micros: 500_000))))
        await #expect(try store.currentRows() == before)
        try await Self.expectTables(
            store,
            [
                Self.version(1, Self.a, at(1), at(2)), Self.version(1, Self.b, at(2), at(2, micros: 500_000)),
                Self.version(1, Self.c, at(3), nil),
            ]
        )
    }

    @Test(arguments: TestBackend.allCases) func lateRecordAfterNoOpRecordSplitsHistory(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        try await store.load(Self.file("first.csv", Self.upsert(1, Self.a, at: at(1)), Self.upsert(1, Self.a, at: at(3))))
        try await Self.expectTables(store, [Self.version(1, Self.a, at(1), nil)])
        try await store.load(Self.file("late.csv", Self.upsert(1, Self.b, at: at(2))))
        try await Self.expectTables(
            store,
            [
                Self.version(1, Self.a, at(1), at(2)), Self.version(1, Self.b, at(2), at(3)),
                Self.version(1, Self.a, at(3), nil),
            ]
        )
    }

    @Test(arguments: TestBackend.allCases) func orderAndBatchSizeDoNotMatter(backend: TestBackend) async throws {
        let files = [
            Self.file(
                "x.csv",
                Self.upsert(1, Self.a, at: at(1)),
                Self.upsert(2, Self.b, at: at(5)),
                Self.delete(1, at: at(4))
            ),
            Self.file(
                "y.csv",
                Self.upsert(1, Self.b, at: at(2)),
                Self.upsert(2, Self.b, at: at(3)),
                Self.upsert(1, Self.a, at: at(6))
            ),
            Self.file(
                "z.csv",
                Self.upsert(2, Self.a, at: at(1)),
                Self.upsert(1, Self.b, at: at(3)),
                Self.upsert(2, Self.c, at: at(4))
            ),
        ]
        let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        var results: [[[Cell]]] = []
        for (index, order) in orders.enumerated() {
            let store = try await TestWarehouse.open(backend)
            for file in order { try await store.load(files[file], chunkSizes: index.isMultiple(of: 2) ? [1, 1, 1] : []) }
            await results.append(try store.snapshot())
        }
        #expect(Set(results).count == 1)
        let store = try await TestWarehouse.open(backend)
        for file in files { try await store.load(file, chunkSizes: [2]) }
        try await Self.expectTables(
            store,
            [
                Self.version(1, Self.a, at(1), at(2)), Self.version(1, Self.b, at(2), at(4)),
                Self.version(1, Self.a, at(6), nil), Self.version(2, Self.a, at(1), at(3)),
                Self.version(2, Self.b, at(3), at(4)), Self.version(2, Self.c, at(4), at(5)),
                Self.version(2, Self.b, at(5), nil),
            ]
        )
    }

    @Test(arguments: TestBackend.allCases) func duplicateRecordChangesNothing(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        try await store.load(Self.file("one.csv", Self.upsert(1, Self.a, at: at(1)), Self.upsert(1, Self.b, at: at(3))))
        let before = try await store.snapshot()
        try await store.load(Self.file("dup.csv", Self.upsert(1, Self.a, at: at(1)), Self.upsert(1, Self.b, at: at(3))))
        try await store.load(
            Self.file("dup-in-file.csv", Self.upsert(1, Self.b, at: at(3)), Self.upsert(1, Self.b, at: at(3)))
        )
        await #expect(try store.snapshot() == before)
    }

    @Test(arguments: TestBackend.allCases) func redeliveredFileIsSkipped(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        let file = Self.file("one.csv", Self.upsert(1, Self.a, at: at(1)), Self.upsert(2, Self.b, at: at(2)))
        let ticket = try await #require(try store.load(file))
        let before = try await store.snapshot()
        guard case .alreadyLoaded(let summary) = try await store.warehouse.beginLoad(file.content) else {
            Issue.record("re-delivered content was not skipped")
            return
        }
        #expect(summary.id == ticket.id)
        #expect(summary.status == "loaded")
        await #expect(try store.snapshot() == before)
    }

    @Test(arguments: TestBackend.allCases) func changedFileUnderSameNameIsLoaded(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        try await store.load(Self.file("one.csv", Self.upsert(1, Self.a, at: at(1)), checksum: "v1"))
        let ticket = try await store.load(Self.file("one.csv", Self.upsert(1, Self.b, at: at(2)), checksum: "v2"))
        #expect(ticket != nil)
        try await Self.expectTables(store, [Self.version(1, Self.a, at(1), at(2)), Self.version(1, Self.b, at(2), nil)])
    }

    @Test(arguments: TestBackend.allCases) func equalEventTimesLaterArrivalWins(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        // Inside one file the later row wins; across files the later load wins.
        try await store.load(
            Self.file(
                "one.csv",
                Self.upsert(1, Self.a, at: at(1)),
                Self.upsert(1, Self.b, at: at(1)),
                Self.upsert(2, Self.a, at: at(1)),
                Self.upsert(3, Self.a, at: at(1))
            )
        )
        try await Self.expectTables(
            store,
            [
                Self.version(1, Self.b, at(1), nil), Self.version(2, Self.a, at(1), nil),
                Self.version(3, Self.a, at(1), nil),
            ]
        )
        try await store.load(
            Self.file(
                "two.csv",
                Self.upsert(1, Self.c, at: at(1)),
                Self.delete(2, at: at(1)),
                Self.upsert(3, Self.b, at: at(2)),
                Self.upsert(3, Self.a, at: at(2))
            )
        )
        try await Self.expectTables(
            store,
            [
                Self.version(1, Self.c, at(1), nil), Self.version(3, Self.a, at(1), nil),
            ]
        )
    }

    @Test(arguments: TestBackend.allCases) func deleteClosesVersionAndOpensNothing(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        try await store.load(Self.file("one.csv", Self.upsert(1, Self.a, at: at(1)), Self.delete(1, at: at(2))))
        try await Self.expectTables(store, [Self.version(1, Self.a, at(1), at(2))])
        // The same attributes after a delete open a new version: nothing was in force.
        try await store.load(Self.file("two.csv", Self.upsert(1, Self.a, at: at(3))))
        try await Self.expectTables(store, [Self.version(1, Self.a, at(1), at(2)), Self.version(1, Self.a, at(3), nil)])
    }

    @Test(arguments: TestBackend.allCases) func deleteOfAbsentKeyIsNoOp(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        try await store.load(
            Self.file(
                "one.csv",
                Self.delete(5, at: at(1)),
                Self.upsert(6, Self.a, at: at(1)),
                Self.delete(6, at: at(2)),
                Self.delete(6, at: at(3))
            )
        )
        try await Self.expectTables(store, [Self.version(6, Self.a, at(1), at(2))])
        // A late delete while nothing was in force is a no-op too.
        try await store.load(Self.file("two.csv", Self.delete(6, at: at(0)), Self.delete(5, at: at(0))))
        try await Self.expectTables(store, [Self.version(6, Self.a, at(1), at(2))])
    }

    @Test(arguments: TestBackend.allCases) func nullSafeComparison(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        let null = person(.text("Ann"), city: .null)
        let empty = person(.text("Ann"), city: .text(""))
        try await store.load(Self.file("one.csv", Self.upsert(1, null, at: at(1)), Self.upsert(1, null, at: at(2))))
        try await Self.expectTables(store, [Self.version(1, null, at(1), nil)])
        try await store.load(Self.file("two.csv", Self.upsert(1, empty, at: at(3)), Self.upsert(1, null, at: at(4))))
        try await Self.expectTables(
            store,
            [
                Self.version(1, null, at(1), at(3)), Self.version(1, empty, at(3), at(4)),
                Self.version(1, null, at(4), nil),
            ]
        )
    }

    /// Text compares byte for byte, as SQL compares it: "Zoë" composed (U+00EB) and decomposed
    /// (e + U+0308) are different values, though Swift's `String ==` calls them equal.
    @Test(arguments: TestBackend.allCases) func textIsComparedByteForByte(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        let composed = person("Zo\u{EB}")
        let decomposed = person("Zoe\u{308}")
        try await store.load(Self.file("one.csv", Self.upsert(1, composed, at: at(1)), Self.upsert(1, decomposed, at: at(2))))
        try await Self.expectTables(
            store,
            [Self.version(1, composed, at(1), at(2)), Self.version(1, decomposed, at(2), nil)]
        )
        // The same through the recomputing path: a later arrival at the same time.
        try await store.load(Self.file("two.csv", Self.upsert(1, composed, at: at(2))))
        try await Self.expectTables(store, [Self.version(1, composed, at(1), nil)])
    }

    @Test(arguments: TestBackend.allCases) func resumedChunkIsNotAppliedTwice(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        let file = Self.file(
            "one.csv",
            Self.upsert(1, Self.a, at: at(1)),
            Self.upsert(1, Self.b, at: at(2)),
            Self.upsert(2, Self.c, at: at(1))
        )
        guard case .load(let ticket) = try await store.warehouse.beginLoad(file.content) else {
            Issue.record("new content was skipped")
            return
        }
        let records = file.records(load: ticket.id)
        let first = RecordChunk(records: Array(records[0..<2]), rejects: [], lastRow: 2)
        await #expect(try store.warehouse.applyChunk(ticket, first).staged == 2)
        let before = try await store.snapshot()
        await #expect(try store.warehouse.applyChunk(ticket, first) == ApplyCounts())
        await #expect(try store.snapshot() == before)
        // A restart: the same content resumes after its committed rows; an overlapping chunk
        // applies only the rows not yet applied.
        guard case .load(let resumed) = try await store.warehouse.beginLoad(file.content) else {
            Issue.record("an interrupted load was not resumed")
            return
        }
        #expect(resumed.id == ticket.id)
        #expect(resumed.resumeAfterRow == 2)
        let all = RecordChunk(records: records, rejects: [], lastRow: 3)
        await #expect(try store.warehouse.applyChunk(resumed, all).staged == 1)
        try await store.warehouse.finishLoad(resumed)
        store.noteLoaded(records)
        await #expect(try store.warehouse.applyChunk(resumed, all) == ApplyCounts())
        try await Self.expectTables(
            store,
            [
                Self.version(1, Self.a, at(1), at(2)), Self.version(1, Self.b, at(2), nil),
                Self.version(2, Self.c, at(1), nil),
            ]
        )
        let raw = try await store.warehouse.query("SELECT count(*) FROM customer_raw").result.rows
        #expect(raw == [[.integer(3)]])
    }
}
