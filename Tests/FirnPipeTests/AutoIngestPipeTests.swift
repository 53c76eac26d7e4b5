import FirnCore
import FirnIngest
import FirnObjectStore
import FirnPipe
import FirnTestSupport
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import NIOCore
import Testing

@Suite("Auto-ingest pipe")
struct AutoIngestPipeTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("firn-pipe-\(UUID().uuidString)").path

    func configuration() -> PipeConfiguration {
        var configuration = PipeConfiguration(downloadDirectory: root + "/downloads")
        configuration.pollInterval = .milliseconds(100)
        configuration.reader = ReaderConfiguration(chunkRows: 50)
        return configuration
    }

    /// Three change files; the second has late and duplicate records, the third deletes.
    func files() throws -> [(String, String)] {
        let dir = URL(fileURLWithPath: root + "/source")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var files: [(String, String)] = []
        for index in 0..<3 {
            let url = dir.appendingPathComponent("changes-\(index).csv")
            try FileLoaderTests.writeFile(url, rows: 200 + 50 * index, keys: 40 + index)
            files.append((url.lastPathComponent, try String(contentsOf: url, encoding: .utf8)))
        }
        return files
    }

    /// The tables `firn load` of the same files in order gives.
    func reference(_ files: [(String, String)]) async throws -> [QueryResult] {
        let warehouse = try SQLiteWarehouse(path: root + "/reference.sqlite")
        for (name, _) in files {
            _ = try await FileLoader(warehouse: warehouse).load(root + "/source/" + name)
        }
        return try await Self.scdTables(warehouse)
    }

    static func scdTables(_ warehouse: any Warehouse) async throws -> [QueryResult] {
        try await warehouse.results([
            "SELECT * FROM customer ORDER BY customer_id",
            "SELECT * FROM customer_history ORDER BY customer_id, start_time",
        ])
    }

    /// Runs `services` until `condition` holds (true) or `seconds` pass (false).
    func run(
        _ services: [@Sendable () async throws -> Void],
        for seconds: Double = 120,
        until condition: () throws -> Bool
    ) async throws -> Bool {
        try await runServices(services, for: seconds, until: condition)
    }

    @Test func listedAndAnnouncedObjectsLoadExactlyOnceAndMatchFirnLoad() async throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = try files()
        let bucket = try DirectoryBucket(root: root + "/bucket")
        var objects: [ObjectInfo] = []
        for (name, text) in files {
            objects.append(try await bucket.put(ByteBuffer(string: text), key: try ObjectKey("2026/11/25/" + name)))
        }
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        let pipe = AutoIngestPipe(store: bucket, warehouse: warehouse, configuration: configuration())
        pipe.announce(objects[0])
        pipe.announce(objects[0])
        #expect(try await run([pipe.run]) { pipe.statistics.objectsLoaded == 3 })
        await #expect(try Self.scdTables(warehouse) == (try reference(files)))
        let history = try await warehouse.loadHistoryTable().rows
        #expect(history.count == 3, "each object loaded once")
        #expect(Set(history.map { $0[2] }) == Set(objects.map { Value.text($0.key.rawValue) }))
        #expect(history.allSatisfy { $0[1] == .text("file:\(root)/bucket") })

        // A restarted pipe takes nothing again, even when told about an object again.
        let again = AutoIngestPipe(store: bucket, warehouse: warehouse, configuration: configuration())
        again.announce(objects[1])
        _ = try await run([again.run], for: 0.5) { false }
        #expect(again.statistics.objectsLoaded == 0)
        await #expect(try warehouse.loadHistoryTable().rows.count == 3)
    }

    @Test func aReplacedObjectIsNewContentAndAnUnreadableOneIsRecordedAsFailed() async throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bucket = try DirectoryBucket(root: root + "/bucket")
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        let key = try ObjectKey("a.csv")
        let header = "customer_id,first_name,last_name,email,street,city,state,country\n"
        _ = try await bucket.put(ByteBuffer(string: header + "1,Ann,,,,,,\n"), key: key)
        _ = try await bucket.put(ByteBuffer(string: "no key column here\n"), key: try ObjectKey("bad.csv"))
        let pipe = AutoIngestPipe(store: bucket, warehouse: warehouse, configuration: configuration())
        #expect(try await run([pipe.run]) { pipe.statistics.objectsLoaded == 1 && pipe.statistics.objectsFailed == 1 })
        try await Task.sleep(for: .milliseconds(20))
        _ = try await bucket.put(ByteBuffer(string: header + "1,Bob,,,,,,\n"), key: key)
        let second = AutoIngestPipe(store: bucket, warehouse: warehouse, configuration: configuration())
        #expect(try await run([second.run]) { second.statistics.objectsLoaded == 1 })
        await #expect(try warehouse.query("SELECT first_name FROM customer").result.rows == [[.text("Bob")]])
        #expect(second.statistics.objectsFailed == 0, "the failed object is not retried")
    }

    @Test func landingToTablesThroughIngestAndPipeMatchesFirnLoad() async throws {
        try FileManager.default.createDirectory(atPath: root + "/landing", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = try files()
        let bucket = try DirectoryBucket(root: root + "/bucket")
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        let pipe = AutoIngestPipe(store: bucket, warehouse: warehouse, configuration: configuration())
        var ingestConfiguration = IngestConfiguration(landingDirectory: root + "/landing", dataDirectory: root)
        ingestConfiguration.maxFilesInFlight = 1
        let ingestor = Ingestor(
            configuration: ingestConfiguration,
            store: bucket,
            journal: try IngestJournal(path: root + "/ingest.sqlite")
        ) { file in
            if let key = try? ObjectKey(file.objectKey), let etag = file.etag {
                pipe.announce(ObjectInfo(key: key, size: file.size, etag: etag))
            }
        }
        let landing = root + "/landing/"
        let writer: @Sendable () async throws -> Void = {
            try await Task.sleep(for: .milliseconds(200))
            for (name, text) in files {
                try Data(text.utf8).write(to: URL(fileURLWithPath: landing + ".\(name).tmp"))
                try FileManager.default.moveItem(atPath: landing + ".\(name).tmp", toPath: landing + name)
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let landed = try await run([pipe.run, ingestor.run, writer]) { pipe.statistics.objectsLoaded == 3 }
        #expect(landed, "ingest \(ingestor.statistics), pipe \(pipe.statistics)")
        await #expect(try Self.scdTables(warehouse) == (try reference(files)))
    }

    @Test func anObjectSortingBeforeTakenOnesIsStillFoundByListing() async throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = try files()
        let bucket = try DirectoryBucket(root: root + "/bucket")
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        _ = try await bucket.put(ByteBuffer(string: files[2].1), key: try ObjectKey("z/last.csv"))
        let first = AutoIngestPipe(store: bucket, warehouse: warehouse, configuration: configuration())
        #expect(try await run([first.run]) { first.statistics.objectsLoaded == 1 })
        // Put later, sorting first, never announced (another process's upload): listing finds it.
        _ = try await bucket.put(ByteBuffer(string: files[0].1), key: try ObjectKey("a/first.csv"))
        let second = AutoIngestPipe(store: bucket, warehouse: warehouse, configuration: configuration())
        #expect(try await run([second.run]) { second.statistics.objectsLoaded == 1 })
        let outcome = await second.loadNow()
        #expect(outcome.objects == 0 && outcome.errors.isEmpty, "nothing left to take")
    }

    /// The UTC date folder (`YYYY/MM/DD`) of `days` days ago, as ingest's default key template writes it.
    static func dateFolder(daysAgo days: Int64) -> String {
        let then = Timestamp(microseconds: Timestamp.now().microseconds - days * 86_400_000_000)
        return String(then.description.prefix(10)).replacingOccurrences(of: "-", with: "/")
    }

    /// The settings `firn run` and `firn pipe` give the pipe: frequent polls list only the
    /// last two days' date folders.
    func windowedConfiguration() -> PipeConfiguration {
        var configuration = configuration()
        configuration.dateFolderWindow = .seconds(2 * 86_400)
        return configuration
    }

    @Test func anObjectInAFiveDayOldDateFolderIsLoadedByAFreshPipe() async throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = try files()
        let bucket = try DirectoryBucket(root: root + "/bucket")
        // Uploaded by `firn ingest` five days ago, or left by a `firn run` killed between its
        // upload and its load: nobody will announce it again.
        _ = try await bucket.put(
            ByteBuffer(string: files[0].1),
            key: try ObjectKey(Self.dateFolder(daysAgo: 5) + "/" + files[0].0)
        )
        _ = try await bucket.put(
            ByteBuffer(string: files[1].1),
            key: try ObjectKey(Self.dateFolder(daysAgo: 0) + "/" + files[1].0)
        )
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        let pipe = AutoIngestPipe(store: bucket, warehouse: warehouse, configuration: windowedConfiguration())
        #expect(
            try await run([pipe.run], for: 30) { pipe.statistics.objectsLoaded == 2 },
            "\(pipe.statistics)"
        )
    }

    @Test func objectsUploadedBeforeThePipeStartsAreAllLoadedWhateverTheirKeysSortOrder() async throws {
        try FileManager.default.createDirectory(atPath: root + "/landing", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = try files()
        let bucket = try DirectoryBucket(root: root + "/bucket")
        // `firn ingest --key-template '{name}'` alone: keys sort before ("0…"), among and after
        // ("zz…") the date folders `firn pipe` would list by default.
        var ingestConfiguration = IngestConfiguration(landingDirectory: root + "/landing", dataDirectory: root)
        ingestConfiguration.keyTemplate = try ObjectKeyTemplate("{name}")
        let journal = try IngestJournal(path: root + "/ingest.sqlite")
        let ingestor = Ingestor(configuration: ingestConfiguration, store: bucket, journal: journal)
        let names = ["0-first.csv", "2026-export.csv", "zz-last.csv"]
        let landing = root + "/landing/"
        for ((_, text), name) in zip(files, names) {
            try Data(text.utf8).write(to: URL(fileURLWithPath: landing + "." + name))
            try FileManager.default.moveItem(atPath: landing + "." + name, toPath: landing + name)
        }
        #expect(try await run([ingestor.run]) { try journal.counts()[.archived] == 3 })
        #expect(try await bucket.list(after: nil).map(\.key.rawValue) == names)

        // The pipe starts afterwards, knowing nothing of ingest's key template.
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        let pipe = AutoIngestPipe(store: bucket, warehouse: warehouse, configuration: windowedConfiguration())
        #expect(
            try await run([pipe.run], for: 30) { pipe.statistics.objectsLoaded == 3 },
            "\(pipe.statistics)"
        )
        await #expect(Set(try warehouse.loadHistoryTable().rows.map { $0[2] }) == Set(names.map { Value.text($0) }))
    }

    @Test func anObjectPutIntoAnOldDateFolderWhileThePipeRunsIsFoundByTheNextFullListing() async throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = try files()
        let bucket = try DirectoryBucket(root: root + "/bucket")
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        var configuration = windowedConfiguration()
        configuration.fullListingInterval = .milliseconds(500)
        let pipe = AutoIngestPipe(store: bucket, warehouse: warehouse, configuration: configuration)
        let today = try ObjectKey(Self.dateFolder(daysAgo: 0) + "/" + files[0].0)
        let old = try ObjectKey(Self.dateFolder(daysAgo: 5) + "/" + files[1].0)
        _ = try await bucket.put(ByteBuffer(string: files[0].1), key: today)
        // Put once the start's full listing is over, by another process (never announced).
        let latecomer: @Sendable () async throws -> Void = {
            while pipe.statistics.objectsLoaded < 1 { try await Task.sleep(for: .milliseconds(20)) }
            _ = try await bucket.put(ByteBuffer(string: files[1].1), key: old)
        }
        #expect(
            try await run([pipe.run, latecomer], for: 30) { pipe.statistics.objectsLoaded == 2 },
            "\(pipe.statistics)"
        )
        await #expect(Set(try warehouse.loadHistoryTable().rows.map { $0[2] }) == [.text(today.rawValue), .text(old.rawValue)])
    }
}
