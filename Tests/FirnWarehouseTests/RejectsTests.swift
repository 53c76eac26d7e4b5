import FirnCore
import FirnTestSupport
import FirnWarehouse
import Testing

/// Rejected rows as the warehouse keeps them, on both backends: every one of a chunk's
/// rejects, in row order, with its text as read (tabs, newlines, backslashes). A NUL, which
/// PostgreSQL's text refuses and SQLite's is read back only up to, is kept as U+2400 (␀): the
/// chunk neither fails nor loses the rest of the row.
@Suite struct RejectsTests {
    @Test(arguments: TestBackend.allCases) func everyRejectOfAChunkIsKept(backend: TestBackend) async throws {
        let store = try await TestWarehouse.open(backend)
        let warehouse = store.warehouse
        let file = FileContent(name: "dirty.csv", checksum: "d", sizeBytes: 1)
        guard case .load(let ticket) = try await warehouse.beginLoad(file) else { throw CancellationError() }
        let count = 1_500
        let records = (1...count).map {
            ChangeRecord(
                key: Key(Int64($0)),
                eventTime: at(1),
                operation: .upsert,
                attributes: person("Ann"),
                arrival: Arrival(load: ticket.id, row: Int64(2 * $0 - 1))
            )
        }
        let rejects =
            (1...count).map {
                RejectedRow(row: Int64(2 * $0), rawText: "\($0),Ann\tB\\C\r\nD,ö", reason: "row \($0): no event time")
            } + [
                RejectedRow(
                    row: Int64(2 * count + 1),
                    rawText: "7,A\u{0}B",
                    reason: "NUL byte in column first_name; the row is partly binary"
                )
            ]
        try await warehouse.applyChunk(
            ticket,
            RecordChunk(records: records, rejects: rejects, lastRow: Int64(2 * count + 1)),
            finishing: true
        )
        var kept: [RejectRecord] = []
        var page = PageRequest.first(400)
        while true {
            let read = try await warehouse.rejects(load: ticket.id, page)
            kept += read.items
            guard let next = read.next else { break }
            page = PageRequest(limit: 400, after: next)
        }
        // Newest first.
        kept.reverse()
        #expect(kept.map(\.sourceRow) == rejects.map(\.row))
        #expect(kept.dropLast().map(\.rawText) == rejects.dropLast().map(\.rawText))
        #expect(kept.dropLast().map(\.reason) == rejects.dropLast().map(\.reason))
        #expect(kept.allSatisfy { $0.sourceFile == "dirty.csv" && $0.loadID == ticket.id })
        #expect(kept.last?.rawText == "7,A\u{2400}B")
        let summary = try #require(try await warehouse.loadSummary(ticket.id))
        #expect(summary.rowsRejected == Int64(count + 1) && summary.rowsLoaded == Int64(count))
    }
}
