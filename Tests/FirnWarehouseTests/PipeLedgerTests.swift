import FirnTestSupport
import FirnWarehouse
import Testing

/// The pipe's ledger of objects taken, on both backends.
@Suite struct PipeLedgerTests {
    /// One read for a take's objects says what asking for each does: an object is taken per
    /// key and ETag, so another ETag of a taken key is not.
    @Test(arguments: TestBackend.allCases) func takenAmongAgreesWithAskingEach(backend: TestBackend) async throws {
        let opened = try await TestWarehouse.open(backend)
        let warehouse = opened.warehouse
        try await warehouse.recordPipeObjects([
            PipeObjectTaken(key: "in/a.csv", etag: "e1", sizeBytes: 10, loadID: nil, status: "loaded"),
            PipeObjectTaken(key: "in/b.csv", etag: "e1", sizeBytes: 10, loadID: nil, status: "failed"),
        ])
        let asked = [
            ("in/a.csv", "e1"), ("in/a.csv", "e2"), ("in/b.csv", "e1"), ("in/c.csv", "e1"), ("in/a.csv", "e1"),
        ]
        let taken = try await warehouse.takenPipeObjects(among: asked.map { (key: $0.0, etag: $0.1) })
        #expect(taken == ["in/a.csv\u{0}e1", "in/b.csv\u{0}e1"])
        for (key, etag) in asked {
            let each = try await warehouse.hasTakenPipeObject(key: key, etag: etag)
            #expect(taken.contains(key + "\u{0}" + etag) == each, "\(key) \(etag)")
        }
        #expect(try await warehouse.takenPipeObjects(among: []).isEmpty)
    }
}
