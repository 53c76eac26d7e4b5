import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

@testable import FirnBench
@testable import FirnPostgresWarehouse

@Suite struct LoadBenchmarkTests {
    /// 500 customers, then three batches of 100, on SQLite files in `directory`.
    private func tinyBenchmark(in directory: String) -> LoadBenchmark {
        var benchmark = LoadBenchmark()
        benchmark.n = 500
        benchmark.batchSizes = [100]
        benchmark.batchCounts = [100: 3]
        benchmark.directory = directory
        return benchmark
    }

    @Test func tinyRunFinishesAndBothEnginesAgree() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-bench-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let benchmark = tinyBenchmark(in: directory)
        var lines: [String] = []
        let report = try await benchmark.run { lines.append($0) }
        #expect(!lines.isEmpty)
        try #require(report.sizes.count == 1)
        let size = report.sizes[0]
        #expect(size.batches == 3 && size.changeRows == 300)
        #expect(size.firnMatchesExpected, "firn \(size.firn.current), expected \(size.expectedCurrent)")
        #expect(
            size.currentTablesAgree == true,
            "firn \(size.firn.current), sql \(String(describing: size.sql?.current))"
        )
        #expect(size.historyTablesAgree == true)
        #expect(size.firn.current.rows > 500)
        #expect(size.firn.history.rows > size.firn.current.rows)
        #expect(report.allChecksPass)
        #expect(report.description.contains("firn bench load  N=500"))
        let decoded = try JSONDecoder().decode(LoadBenchmarkReport.self, from: Data(try report.json().utf8))
        #expect(decoded == report)
    }

    /// With the engines in turn: the same batches, the same tables, and the report says so.
    @Test func interleavedRunAgreesWithTheGeneratorAndSaysSo() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-bench-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var benchmark = tinyBenchmark(in: directory)
        benchmark.interleaves = true
        let report = try await benchmark.run()
        try #require(report.sizes.count == 1)
        let size = report.sizes[0]
        #expect(size.firnMatchesExpected, "firn \(size.firn.current), expected \(size.expectedCurrent)")
        #expect(size.currentTablesAgree == true && size.historyTablesAgree == true)
        #expect(size.firn.batchMilliseconds.count == 3 && size.sql?.batchMilliseconds.count == 3)
        #expect(size.firn.peakResidentBytes == size.sql?.peakResidentBytes)
        #expect(report.isInterleaved && report.allChecksPass)
        #expect(report.description.contains("engines interleaved batch by batch"))
    }

    /// The same on the test run's PostgreSQL server: Firn and the plain-SQL port (COPY,
    /// MERGE, window functions) in schemas of their own, which are dropped afterwards; then
    /// the batches again, shared by one and by three workers.
    @Test func tinyRunOnPostgreSQLAgreesWithThePortAndTheGenerator() async throws {
        let server = try await PostgresTestServer.freshSchema()
        var benchmark = LoadBenchmark()
        benchmark.n = 300
        benchmark.batchSizes = [100]
        benchmark.batchCounts = [100: 6]
        benchmark.workerCounts = [1, 3]
        let report = try await benchmark.run(on: server)
        try #require(report.sizes.count == 1)
        let size = report.sizes[0]
        #expect(size.firnMatchesExpected, "firn \(size.firn.current), expected \(size.expectedCurrent)")
        // Three workers sharing the six batches: same SCD1 and history as one.
        #expect(size.workers?.map(\.workers) == [1, 3])
        for run in size.workers ?? [] {
            #expect(run.matchesExpected && run.historyMatchesOneWorker, "\(run.workers) workers: tables differ")
            #expect(run.rowsPerSecond > 0)
        }
        #expect(report.allChecksPass)
        #expect(report.description.contains("3 workers:"))
        #expect(size.currentTablesAgree == true, "sql \(String(describing: size.sql?.current))")
        #expect(size.historyTablesAgree == true)
        #expect(size.firn.history.rows > size.firn.current.rows)
        #expect(report.engine.hasPrefix("PostgreSQL 15"))
        let left = try await PostgresBenchStorage(server: server, keepsDatabases: false).schemasLeft()
        #expect(left.isEmpty, "benchmark schemas left behind: \(left)")
    }

    /// `--key-state-capacity` reaches the Firn warehouses a run on PostgreSQL opens (it
    /// reached only SQLite's before), each worker's too.
    @Test func keyStateCapacityReachesThePostgreSQLWarehouses() async throws {
        let server = try await PostgresTestServer.freshSchema()
        var benchmark = LoadBenchmark()
        benchmark.warehouse.keyStateCapacity = 7
        let storage = benchmark.storage(on: server)
        let workers = try await storage.openFirnWorkers(size: 10, count: 2)
        let capacities = workers.map { ($0.warehouse as? PostgresWarehouse)?.keyStates.capacity }
        for worker in workers { await worker.close() }
        try await storage.drop(storage.schema(.firn, size: 10))
        #expect(capacities == [7, 7])
        let fallback = LoadBenchmark().storage(on: server)
        #expect(fallback.keyStateCapacity == KeyStateCache.defaultCapacity)
    }

    @Test func filesModeReadsWrittenWorkloadAndMatchesInProcessRun() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("firn-bench-files-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let files = root.appendingPathComponent("files")
        try WorkloadFiles.write(to: files, seed: 7, n: 400, batches: 3, size: 80)
        var benchmark = LoadBenchmark()
        benchmark.directory = root.appendingPathComponent("db").path
        benchmark.seed = 7
        let report = try await benchmark.runFiles(in: files.path)
        try #require(report.sizes.count == 1)
        let size = report.sizes[0]
        #expect(size.batches == 3 && size.changeRows == 240)
        #expect(size.currentTablesAgree == true && size.historyTablesAgree == true)
        #expect(report.description.contains("files="))

        // The same seed in process gives the same final tables as reading the files.
        benchmark.n = 400
        benchmark.batchSizes = [80]
        benchmark.batchCounts = [80: 3]
        let inProcess = try await benchmark.run()
        #expect(inProcess.sizes[0].firn.current == size.firn.current)
        #expect(inProcess.sizes[0].firn.history == size.firn.history)
    }

    @Test func defaultsApplyThreeHundredThousandRowsPerSize() {
        let benchmark = LoadBenchmark()
        #expect(benchmark.batchSizes.map { benchmark.batchCount(forSize: $0) } == [300, 30, 3])
    }

    @Test func aDisagreementIsReportedNotHidden() {
        var digest = TableDigest()
        digest.add(["1", "a"])
        let engine = LoadBenchmarkReport.EngineResult(
            baseLoadSeconds: 0,
            batchSeconds: 1,
            rowsPerSecond: 1,
            p50Milliseconds: 1,
            p99Milliseconds: 1,
            maxMilliseconds: 1,
            peakResidentBytes: 0,
            current: digest,
            history: digest,
            databaseBytes: 0
        )
        var other = engine
        other.current = TableDigest()
        let size = LoadBenchmarkReport.SizeResult(
            batchSize: 1,
            batches: 1,
            firn: engine,
            sql: other,
            expectedCurrent: digest
        )
        let report = LoadBenchmarkReport(n: 1, seed: 1, isDurable: true, engine: "x", sizes: [size])
        #expect(!report.allChecksPass)
        #expect(report.description.contains("MISMATCH"))
        #expect(report.description.contains("SCD1 TABLES DIFFER"))
    }
}
