@testable import FirnBench
import FirnCore
import FirnFlow
import FirnIngest
import FirnObjectStore
import FirnPipe
import FirnSQLiteWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Logging
import Testing

/// The whole flow over real parts: the generator writes into a landing directory, ingest uploads
/// to a directory bucket or to a real S3 server (moto), the pipe loads, and afterwards SCD1 and
/// SCD2 equal `firn load` of the same files in order.
@Suite("Flow end to end", .serialized)
struct FlowTests {
    static func configuration() -> FlowBenchmarkConfiguration {
        var configuration = FlowBenchmarkConfiguration()
        configuration.rate = 20_000
        configuration.seconds = 1.5
        configuration.rowsPerFile = 1000
        configuration.lateFraction = 0.1
        return configuration
    }

    static func temporary(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("firn-flow-\(label)-\(UUID().uuidString)").path
    }

    @Test func generatorToDirectoryBucketToTablesEqualsFirnLoad() async throws {
        let result = try await FlowBenchmark.run(
            Self.configuration(),
            bucket: .directory,
            directory: Self.temporary("file")
        )
        #expect(result.files >= 20)
        #expect(result.rows == Int64(result.files * 1000), "every generated row loaded once")
        #expect(result.freshness.count == result.files)
        #expect(result.tablesMatchFirnLoad == true)
        // The generator's CPU is counted, and is part of the process's.
        #expect(result.generatorCPUSeconds > 0)
        #expect(result.generatorShare > 0 && result.generatorShare < 1, "\(result.generatorCPUSeconds) of \(result.processCPUSeconds)")
        // Where the apply time went, from the metrics over the run (other suites may add to them).
        #expect(result.applyTime.rows >= Double(result.rows), "every loaded row counted in firn_apply_rows_total")
        #expect((result.applyTime.seconds["write"] ?? 0) > 0 && (result.applyTime.seconds["commit"] ?? 0) > 0)
        #expect(result.applyTimeByThird.count == 3)
        #expect(result.applyTimeByThird.map(\.rows).reduce(0, +) == result.applyTime.rows)
    }

    /// `firn bench flow --warehouse postgres://…`: the same flow into a PostgreSQL schema,
    /// checked against `firn load` into another; both schemas are dropped afterwards.
    @Test func generatorToDirectoryBucketToPostgreSQLEqualsFirnLoad() async throws {
        let server = try await PostgresTestServer.freshSchema()
        var configuration = Self.configuration()
        configuration.rate = 8000
        let result = try await FlowBenchmark.run(
            configuration,
            bucket: .directory,
            warehouse: .postgres(server),
            directory: Self.temporary("postgres")
        )
        #expect(result.files >= 10)
        #expect(result.rows == Int64(result.files * 1000), "every generated row loaded once")
        #expect(result.freshness.count == result.files)
        #expect(result.tablesMatchFirnLoad == true)
        let left = try await PostgresBenchStorage(server: server, keepsDatabases: false).schemasLeft()
        #expect(left.isEmpty, "benchmark schemas left behind: \(left)")
    }

    @Test func generatorToS3ToTablesEqualsFirnLoad() async throws {
        let endpoint = try await MotoServer.sharedEndpoint()
        let credentials = S3Credentials(accessKeyId: "firn-test", secretAccessKey: "firn-test-secret")
        let result = try await FlowBenchmark.run(
            Self.configuration(),
            bucket: .s3(endpoint: endpoint, credentials: credentials),
            directory: Self.temporary("s3")
        )
        #expect(result.files >= 20)
        #expect(result.rows == Int64(result.files * 1000))
        #expect(result.tablesMatchFirnLoad == true)
    }

    /// Lands a CSV file the well-behaved way (temporary name, then rename).
    static func land(_ name: String, rows: Range<Int>, in landing: String, modified: Date? = nil) throws {
        var text = "customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op\n"
        for row in rows {
            let time = Timestamp(microseconds: 1_790_000_000_000_000 + Int64(row) * 1_000_000)
            text += "\(row % 50 + 1),F\(row),L,e@x,\(row) St,City,,C,\(time),U\n"
        }
        try text.write(toFile: landing + "/." + name, atomically: false, encoding: .utf8)
        if let modified {
            try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: landing + "/." + name)
        }
        try FileManager.default.moveItem(atPath: landing + "/." + name, toPath: landing + "/" + name)
    }

    @Test func anS3OutageDelaysFilesButLosesNone() async throws {
        let root = Self.temporary("outage")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let landing = root + "/landing"
        try FileManager.default.createDirectory(atPath: landing, withIntermediateDirectories: true)
        let moto = try await MotoServer.launch()
        let location = S3Location(bucket: "outage", prefix: "in", endpoint: moto.endpoint, addressing: .path)
        var s3Configuration = S3Bucket.Configuration()
        s3Configuration.requestTimeout = .seconds(2)
        let bucket = S3Bucket(
            location: location,
            credentials: S3Credentials(accessKeyId: "firn-test", secretAccessKey: "firn-test-secret"),
            configuration: s3Configuration
        )
        try await bucket.createBucket()
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        var ingest = IngestConfiguration(landingDirectory: landing, dataDirectory: root)
        ingest.maxBackoff = .milliseconds(500)
        var pipe = PipeConfiguration(downloadDirectory: root + "/downloads")
        pipe.pollInterval = .milliseconds(200)
        let flow = try Flow(
            configuration: FlowConfiguration(ingest: ingest, pipe: pipe),
            store: bucket,
            warehouse: warehouse,
            journal: try IngestJournal(path: root + "/ingest.sqlite"),
            logger: Logger(label: "firn.test")
        )
        func loaded() -> Int { flow.pipe?.statistics.objectsLoaded ?? 0 }
        func waitFor(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if condition() { return true }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return condition()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await flow.run { _ in } }
            try Self.land("a-1.csv", rows: 0..<100, in: landing)
            #expect(await waitFor(60) { loaded() == 1 })
            await moto.stop()
            try Self.land("a-2.csv", rows: 100..<200, in: landing)
            try Self.land("a-3.csv", rows: 200..<300, in: landing)
            try await Task.sleep(for: .seconds(3))
            #expect(loaded() == 1, "nothing can load while S3 is down")
            let claimed = try FileManager.default.contentsOfDirectory(atPath: root + "/ingest-processing")
            #expect(claimed.contains { $0.hasSuffix("-a-2.csv") }, "kept (claimed, not archived) until uploaded")
            // The outage is there for the dashboard's error feed: which file, what the store said.
            let stats = try #require(flow.ingestor?.statistics)
            #expect(stats.retries > 0 && stats.lastRetryAt != nil)
            let message = stats.lastRetryMessage ?? ""
            #expect(message.contains(".csv: ") && message.contains("cannot reach"), "\(message)")
            try await moto.start()
            try await bucket.createBucket()  // a restarted moto is empty
            #expect(await waitFor(60) { loaded() == 3 }, "\(flow.statusLine())")
            await flow.shutDownGracefully()
            try await group.waitForAll()
        }
        await moto.stop()
        let journal = try IngestJournal(path: root + "/ingest.sqlite")
        #expect(try journal.counts()[.archived] == 3)
        #expect(try journal.counts()[.failed] == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: landing).filter { !$0.hasPrefix(".") }.isEmpty)
        let reference = try SQLiteWarehouse(path: root + "/reference.sqlite")
        for name in ["a-1.csv", "a-2.csv", "a-3.csv"] {
            let archived = try #require(try journal.find(name).first?.finalPath)
            _ = try await FileLoader(warehouse: reference).load(archived)
        }
        for sql in ["SELECT * FROM customer ORDER BY 1", "SELECT * FROM customer_history ORDER BY 1, start_time"] {
            await #expect(try warehouse.query(sql).result == reference.query(sql).result)
        }
    }

    @Test func aMissingS3BucketDelaysFilesUntilItIsCreated() async throws {
        let root = Self.temporary("nobucket")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let landing = root + "/landing"
        try FileManager.default.createDirectory(atPath: landing, withIntermediateDirectories: true)
        let endpoint = try await MotoServer.sharedEndpoint()
        let name = "firn-late-" + UUID().uuidString.lowercased().prefix(13)
        // Not created yet: every PUT answers 404 NoSuchBucket.
        let bucket = S3Bucket(
            location: S3Location(bucket: name, prefix: "in", endpoint: endpoint, addressing: .path),
            credentials: S3Credentials(accessKeyId: "firn-test", secretAccessKey: "firn-test-secret")
        )
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        var ingest = IngestConfiguration(landingDirectory: landing, dataDirectory: root)
        ingest.maxBackoff = .milliseconds(300)
        var pipe = PipeConfiguration(downloadDirectory: root + "/downloads")
        pipe.pollInterval = .milliseconds(200)
        let flow = try Flow(
            configuration: FlowConfiguration(ingest: ingest, pipe: pipe),
            store: bucket,
            warehouse: warehouse,
            journal: try IngestJournal(path: root + "/ingest.sqlite"),
            logger: Logger(label: "firn.test")
        )
        let journal = try IngestJournal(path: root + "/ingest.sqlite")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await flow.run { _ in } }
            try Self.land("b-1.csv", rows: 0..<100, in: landing)
            try Self.land("b-2.csv", rows: 100..<200, in: landing)
            // Five attempts of at most 300 ms apart would have failed both files by now.
            try await Task.sleep(for: .seconds(4))
            #expect(try journal.counts()[.failed] == nil, "a missing bucket fails no file")
            #expect(try journal.counts()[.landed] == 2, "both wait, claimed, for the bucket")
            #expect((flow.ingestor?.statistics.retries ?? 0) >= 4)
            try await bucket.createBucket()
            #expect(await Self.waitFor(60) { flow.pipe?.statistics.objectsLoaded == 2 }, "\(flow.statusLine())")
            await flow.shutDownGracefully()
            try await group.waitForAll()
        }
        #expect(try journal.counts()[.archived] == 2)
        #expect(!FileManager.default.fileExists(atPath: root + "/failed/b-1.csv"))
    }

    @Test func retentionCountsAnArchivedFilesAgeFromItsArchiving() async throws {
        let root = Self.temporary("retention")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let landing = root + "/landing"
        try FileManager.default.createDirectory(atPath: landing, withIntermediateDirectories: true)
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        var configuration = FlowConfiguration(
            ingest: IngestConfiguration(landingDirectory: landing, dataDirectory: root),
            pipe: PipeConfiguration(downloadDirectory: root + "/downloads")
        )
        configuration.tasks = [.load, .retention]
        configuration.scheduler.archiveDirectory = root + "/archive"
        let flow = try Flow(
            configuration: configuration,
            store: try DirectoryBucket(root: root + "/bucket"),
            warehouse: warehouse,
            journal: try IngestJournal(path: root + "/ingest.sqlite"),
            logger: Logger(label: "firn.test")
        )
        let journal = try IngestJournal(path: root + "/ingest.sqlite")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await flow.run { _ in } }
            // An export written 30 days ago, landed today.
            let thirtyDaysAgo = Date().addingTimeInterval(-30 * 86_400)
            try Self.land("old-export.csv", rows: 0..<10, in: landing, modified: thirtyDaysAgo)
            #expect(await Self.waitFor(60) { flow.pipe?.statistics.objectsLoaded == 1 }, "\(flow.statusLine())")
            #expect(await Self.waitFor(60) { (try? journal.counts()[.archived]) == 1 })
            let archived = try #require(try journal.find("old-export.csv").first?.finalPath)
            #expect(try await flow.scheduler?.runNow("retention") == true)
            #expect(FileManager.default.fileExists(atPath: archived), "archived today, kept for 7 days")
            await flow.shutDownGracefully()
            try await group.waitForAll()
        }
    }

    static func waitFor(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }
}
