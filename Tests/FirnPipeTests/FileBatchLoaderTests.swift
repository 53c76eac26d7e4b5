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
}
