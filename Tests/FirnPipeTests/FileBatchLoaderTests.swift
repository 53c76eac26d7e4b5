import FirnCore
import FirnPipe
import FirnSQLiteWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// `FileLoader.load(_:)` of several files: small files share a transaction, and the result is
/// what loading them one by one gives, file by file in load history.
@Suite struct FileBatchLoaderTests {
    /// Six small files (sharing keys, with late rows and deletes), one larger than a chunk, a
    /// file that is not there and one given twice.
    static func writeFiles(_ dir: URL) throws -> [String] {
        var paths: [String] = []
        for index in 0..<6 {
            let url = dir.appendingPathComponent("small-\(index).csv")
            try FileLoaderTests.writeFile(url, rows: 40 + index * 7, keys: 25)
            paths.append(url.path)
        }
        let large = dir.appendingPathComponent("large.csv")
        try FileLoaderTests.writeFile(large, rows: 700, keys: 60)
        paths.insert(large.path, at: 3)
        paths.insert(dir.appendingPathComponent("missing.csv").path, at: 5)
        paths.append(paths[1])
        return paths
    }

    static let reader = ReaderConfiguration(chunkRows: 300)

    /// Load history by file name; with `versions`, the versions each file opened and closed.
    static func loadHistory(_ warehouse: any Warehouse, versions: Bool = false) async throws -> QueryResult {
        try await warehouse.query(
            """
            SELECT file_name, status, rows_loaded, rows_rejected, error
                \(versions ? ", versions_opened, versions_closed" : "")
            FROM firn_loads ORDER BY file_name, load_id
            """
        ).result
    }

    @Test(arguments: TestBackend.allCases) func batchEqualsOneByOne(backend: TestBackend) async throws {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let paths = try Self.writeFiles(dir)

        let single = try await TestWarehouse.open(backend)
        var expected: [FileLoadReport] = []
        for path in paths {
            expected.append(try await FileLoader(warehouse: single.warehouse, reader: Self.reader).load(path))
        }
        let batched = try await TestWarehouse.open(backend)
        var order: [Int] = []
        let reports = try await FileLoader(warehouse: batched.warehouse, reader: Self.reader).load(
            paths.map { FileToLoad(path: $0) },
            loaded: { index, _ in order.append(index) }
        )

        #expect(order == Array(paths.indices), "reports come in file order")
        #expect(reports.map(\.path) == paths)
        #expect(reports.map(\.status) == expected.map(\.status))
        #expect(reports.map(\.status) == [.loaded, .loaded, .loaded, .loaded, .loaded, .failed, .loaded, .loaded, .skipped])
        #expect(reports.map(\.counts.staged) == expected.map(\.counts.staged))
        #expect(reports.map(\.rejected) == expected.map(\.rejected))
        #expect(reports.map(\.summary?.rowsLoaded) == expected.map(\.summary?.rowsLoaded))
        // Each report's load history row is the one stored, however the loader had it (SQLite
        // reads it in the batch's transaction).
        for report in reports {
            guard let summary = report.summary else { continue }
            #expect(summary == (try await batched.warehouse.loadSummary(summary.id)))
        }
        #expect(try await FileLoaderTests.tables(batched.warehouse) == FileLoaderTests.tables(single.warehouse))
        let history = try await Self.loadHistory(batched.warehouse)
        let expectedHistory = try await Self.loadHistory(single.warehouse)
        #expect(history.rows == expectedHistory.rows, "\(history.rows)\n\(expectedHistory.rows)")
        var lateSingle: [LateRecord] = []
        var lateBatched: [LateRecord] = []
        for key in 1...60 {
            lateSingle += try await single.warehouse.lateRecords(of: Key(Int64(key))).map { var late = $0; late.loadID = 0; return late }
            lateBatched += try await batched.warehouse.lateRecords(of: Key(Int64(key))).map { var late = $0; late.loadID = 0; return late }
        }
        #expect(!lateSingle.isEmpty)
        #expect(lateBatched == lateSingle)
    }

    /// Files whose times follow each other: each file's load history counts the versions its
    /// own records opened and closed, as loading it alone does. (Files of one batch that
    /// touch a key at the same time differ: a version a later file of the batch supersedes
    /// is never written, so it is counted for neither; the tables are the same.)
    @Test(arguments: TestBackend.allCases) func eachFileCountsItsOwnVersions(backend: TestBackend) async throws {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for index in 0..<5 {
            let url = dir.appendingPathComponent("f\(index).csv")
            try FileLoaderTests.writeFile(url, rows: 60 + index * 9, keys: 30, offset: index * 1_000)
            paths.append(url.path)
        }
        let single = try await TestWarehouse.open(backend)
        for path in paths { _ = try await FileLoader(warehouse: single.warehouse, reader: Self.reader).load(path) }
        let batched = try await TestWarehouse.open(backend)
        let reports = try await FileLoader(warehouse: batched.warehouse, reader: Self.reader).load(
            paths.map { FileToLoad(path: $0) }
        )
        let history = try await Self.loadHistory(batched.warehouse, versions: true)
        #expect(history == (try await Self.loadHistory(single.warehouse, versions: true)))
        #expect(reports.map { Value.integer(Int64($0.counts.versionsOpened)) } == history.rows.map { $0[5] })
        #expect(try await FileLoaderTests.tables(batched.warehouse) == FileLoaderTests.tables(single.warehouse))
    }

    /// Groups bounded by bytes: with a chunk of a few files' bytes, files are grouped as they
    /// fit, a file of a chunk or more loads alone, and every file loads exactly once, in order.
    @Test func groupsBoundedByBytesLoadEveryFileOnce() async throws {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (index, rows) in [30, 60, 10, 200, 20, 45, 15, 90].enumerated() {
            let url = dir.appendingPathComponent("b\(index).csv")
            try FileLoaderTests.writeFile(url, rows: rows, keys: 40, offset: index * 1_000)
            paths.append(url.path)
        }
        let reader = ReaderConfiguration(chunkRows: 1_000, chunkBytes: 4_000)
        let single = try await TestWarehouse.open(.sqlite)
        for path in paths { _ = try await FileLoader(warehouse: single.warehouse, reader: reader).load(path) }
        let batched = try await TestWarehouse.open(.sqlite)
        let reports = try await FileLoader(warehouse: batched.warehouse, reader: reader).load(
            paths.map { FileToLoad(path: $0) }
        )
        #expect(reports.map(\.path) == paths)
        #expect(reports.allSatisfy { $0.status == .loaded })
        let history = try await Self.loadHistory(batched.warehouse, versions: true)
        #expect(history == (try await Self.loadHistory(single.warehouse, versions: true)))
        #expect(try await FileLoaderTests.tables(batched.warehouse) == FileLoaderTests.tables(single.warehouse))
    }

    @Test func smallFilesShareTransactions() async throws {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for index in 0..<10 {
            let url = dir.appendingPathComponent("f\(index).csv")
            try FileLoaderTests.writeFile(url, rows: 100, keys: 500)
            paths.append(url.path)
        }
        let store = try await TestWarehouse.open(.sqlite)
        _ = try await FileLoader(warehouse: store.warehouse, reader: Self.reader).load(paths.map { FileToLoad(path: $0) })
        // Three files per chunk of 300 rows: ten files of 100 rows commit in four transactions
        // (a transaction's chunks share their time).
        let chunks = try await store.warehouse.query("SELECT count(DISTINCT applied_at), count(*) FROM firn_chunks").result
        #expect(chunks.rows == [[.integer(4), .integer(10)]], "one chunk per file, four transactions")
        let loads = try await store.warehouse.query("SELECT count(*) FROM firn_loads WHERE status = 'loaded'").result
        #expect(loads.rows == [[.integer(10)]])
    }

    @Test func aFileGivenTwiceInOneBatchLoadsOnce() async throws {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("twice.csv")
        try FileLoaderTests.writeFile(url, rows: 50, keys: 20)
        let store = try await TestWarehouse.open(.sqlite)
        let reports = try await FileLoader(warehouse: store.warehouse).load([FileToLoad(path: url.path), FileToLoad(path: url.path)])
        #expect(reports.map(\.status) == [.loaded, .skipped])
        let staged = try await store.warehouse.query("SELECT count(*) FROM customer_raw").result
        #expect(staged.rows == [[.integer(50)]])
    }

    /// Each file its own group (a chunk of 300 bytes, each file smaller, no two together), so
    /// that every file is opened,
    /// checksummed and read while the one before it applies: a file read ahead with an entity
    /// its turn no longer has (the file before added a column), a JSON Lines line without an
    /// event time (read ahead with a placeholder time), and content loaded before all load as
    /// loading the files one by one does.
    @Test(arguments: TestBackend.allCases) func filesReadAheadLoadAsInTheirTurn(backend: TestBackend) async throws {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let header = FileLoaderEvolutionTests.header
        func write(_ name: String, _ text: String) throws -> String {
            let url = dir.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        let texts = [
            ("a.csv", header + "\n1,Ann,Lee,a@x,S,Oslo,,NO,2026-01-01 10:00:00,I\n2,Bob,Ray,b@x,S,Oslo,,NO,2026-01-01 10:00:00,I\n"),
            ("b.csv", header + ",tier\n1,Ann,Lee,a@x,S,Oslo,,NO,2026-01-02 10:00:00,U,3\n"),
            ("c.csv", header + ",tier\n2,Bob,Ray,b@x,S,Oslo,,NO,2026-01-03 10:00:00,U,7\n3,Cy,Fox,c@x,S,Oslo,,NO,2026-01-03 10:00:00,I,1\n"),
            ("d.csv", header + "\n1,Ann,Lee,a@x,S,Bergen,,NO,2026-01-01 09:00:00,U\n"),
        ]
        var paths = try texts.map { try write($0.0, $0.1) }
        paths.append(paths[0])
        var reader = ReaderConfiguration()
        reader.chunkBytes = 300
        let entity = FileLoaderEvolutionTests.entity

        let single = try await TestWarehouse.open(backend, entity: entity)
        var expected: [FileLoadReport] = []
        for path in paths {
            expected.append(try await FileLoader(warehouse: single.warehouse, reader: reader).load(path))
        }
        let batched = try await TestWarehouse.open(backend, entity: entity)
        let reports = try await FileLoader(warehouse: batched.warehouse, reader: reader).load(
            paths.map { FileToLoad(path: $0) }
        )
        #expect(reports.map(\.status) == [.loaded, .loaded, .loaded, .loaded, .skipped])
        #expect(reports.map(\.status) == expected.map(\.status))
        #expect(reports.map(\.ignoredColumns) == expected.map(\.ignoredColumns))
        #expect(reports.map(\.warnings) == expected.map(\.warnings))
        #expect(try await FileLoaderTests.tables(batched.warehouse) == FileLoaderTests.tables(single.warehouse))
        let tiers = try await batched.warehouse.query("SELECT customer_id, tier FROM customer ORDER BY 1").result
        #expect(tiers.rows == [[.integer(1), .integer(3)], [.integer(2), .integer(7)], [.integer(3), .integer(1)]])

        // A file without event times takes the load's time, never the one read ahead with.
        let started = Timestamp.now()
        let json = try write(
            "e.jsonl",
            #"{"customer_id": 4, "first_name": "Di"}"# + "\n" + #"{"customer_id": 5, "first_name": "Ed"}"# + "\n"
        )
        let more = try await FileLoader(warehouse: batched.warehouse, reader: reader).load(
            [FileToLoad(path: paths[1]), FileToLoad(path: json)]
        )
        #expect(more.map(\.status) == [.skipped, .loaded])
        let time = try await batched.warehouse.query("SELECT update_timestamp FROM customer WHERE customer_id = 5").result
        guard case .text(let text)? = time.rows.first?.first, let stored = Timestamp(canonical: text) else {
            Issue.record("no event time for customer 5: \(time.rows)")
            return
        }
        #expect(stored >= Timestamp(microseconds: started.microseconds - 1_000_000))
    }
}

