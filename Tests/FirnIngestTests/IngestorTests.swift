import FirnIngest
import FirnObjectStore
import Foundation
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

/// A data directory with a landing folder, a directory bucket and a journal, removed afterwards.
struct IngestFixture {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("firn-ingest-\(UUID().uuidString)").path
    var landing: String { root + "/landing" }
    var configuration: IngestConfiguration {
        var configuration = IngestConfiguration(landingDirectory: landing, dataDirectory: root)
        configuration.rescanInterval = .milliseconds(100)
        configuration.stabilityInterval = .milliseconds(500)
        configuration.initialBackoff = .milliseconds(10)
        configuration.maxBackoff = .milliseconds(50)
        return configuration
    }

    init() throws {
        try FileManager.default.createDirectory(atPath: root + "/landing", withIntermediateDirectories: true)
    }

    func bucket() throws -> DirectoryBucket { try DirectoryBucket(root: root + "/bucket") }
    func journal() throws -> IngestJournal { try IngestJournal(path: root + "/ingest.sqlite") }

    /// Writes a file the well-behaved way: a hidden temporary name, then a rename.
    func land(_ name: String, _ text: String) throws {
        let temporary = landing + "/.\(name).tmp"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        try FileManager.default.moveItem(atPath: temporary, toPath: landing + "/" + name)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

/// Polls `condition` every 20 ms for up to `seconds`; a thrown error counts as false.
func eventually(_ seconds: Double = 60, _ condition: () async throws -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return (try? await condition()) == true
}

/// Appends rows to a file on a thread of its own, so that the test's timing does not depend on
/// the cooperative pool, which other suites running at the same time may keep busy for seconds.
enum SlowWriter {
    /// Appends `1\n`, `2\n`, … one every `interval` seconds; after each, checks that the
    /// file is still in place (not yet claimed). Returns whether it always was.
    static func append(rows: Int, to path: String, every interval: Double) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                    defer { try? handle.close() }
                    var stillThere = true
                    for row in 1...rows {
                        Thread.sleep(forTimeInterval: interval)
                        try handle.seekToEnd()
                        try handle.write(contentsOf: Data("\(row)\n".utf8))
                        stillThere = stillThere && FileManager.default.fileExists(atPath: path)
                    }
                    continuation.resume(returning: stillThere)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }
}

/// Runs `ingestor` while `body` runs, then cancels it.
func whileRunning(_ ingestor: Ingestor, _ body: () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await ingestor.run() }
        try await body()
        group.cancelAll()
        try? await group.waitForAll()
    }
}

@Suite("Ingest")
struct IngestorTests {
    @Test func renamedFilesAreUploadedThenArchivedAndTemporaryNamesIgnored() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        let uploaded = UploadLog()
        let ingestor = Ingestor(configuration: fixture.configuration, store: bucket, journal: try fixture.journal()) {
            uploaded.append($0)
        }
        try await whileRunning(ingestor) {
            for index in 0..<5 { try fixture.land("c-\(index).csv", "customer_id\n\(index)\n") }
            try Data("half".utf8).write(to: URL(fileURLWithPath: fixture.landing + "/.c-9.csv.tmp"))
            #expect(await eventually { try await bucket.list(after: nil).count == 5 && uploaded.count == 5 })
            #expect(
                await eventually { try FileManager.default.contentsOfDirectory(atPath: fixture.landing).count == 1 }
            )
        }
        let objects = try await bucket.list(after: nil)
        #expect(objects.map { String($0.key.name) } == (0..<5).map { "c-\($0).csv" })
        #expect(objects.allSatisfy { $0.key.rawValue.split(separator: "/").count == 4 }, "date-partitioned keys")
        #expect(String(buffer: try await bucket.get(objects[2].key)) == "customer_id\n2\n")
        let journal = try fixture.journal()
        let entries = try journal.recent()
        #expect(entries.count == 5)
        #expect(entries.allSatisfy { $0.state == .archived && $0.etag != nil && $0.finalPath != nil })
        #expect(entries.allSatisfy { FileManager.default.fileExists(atPath: $0.finalPath!) })
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.landing) == [".c-9.csv.tmp"])
    }

    @Test func fileWrittenInPlaceIsTakenOnlyOnceItStopsChanging() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        var configuration = fixture.configuration
        configuration.stabilityInterval = .seconds(1)
        let ingestor = Ingestor(configuration: configuration, store: bucket, journal: try fixture.journal())
        let path = fixture.landing + "/slow.csv"
        let rows = 60
        try await whileRunning(ingestor) {
            // Written in place (not FileManager.createFile, which writes a temporary file and
            // renames it: a rename announces a complete file, taken at once).
            try Data("customer_id\n".utf8).write(to: URL(fileURLWithPath: path))
            let stillThere = try await SlowWriter.append(rows: rows, to: path, every: 0.02)
            #expect(stillThere, "the file was claimed while it was still being written")
            #expect(await eventually { try await bucket.list(after: nil).count == 1 })
        }
        let object = try #require(try await bucket.list(after: nil).first)
        let expected = "customer_id\n" + (1...rows).map { "\($0)\n" }.joined()
        #expect(String(buffer: try await bucket.get(object.key)) == expected)
    }

    @Test func sameNameAndContentAgainIsADuplicateAndNewContentGetsItsOwnKey() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        let ingestor = Ingestor(configuration: fixture.configuration, store: bucket, journal: try fixture.journal())
        let journal = try fixture.journal()
        try await whileRunning(ingestor) {
            try fixture.land("a.csv", "customer_id\n1\n")
            #expect(await eventually { try journal.counts()[.archived] == 1 })
            try fixture.land("a.csv", "customer_id\n1\n")
            #expect(await eventually { try journal.counts()[.duplicate] == 1 })
            try fixture.land("a.csv", "customer_id\n2\n")
            #expect(await eventually { try journal.counts()[.archived] == 2 })
        }
        let objects = try await bucket.list(after: nil)
        #expect(objects.count == 2)
        let texts = try await objects.asyncMap { String(buffer: try await bucket.get($0.key)) }
        #expect(Set(texts) == ["customer_id\n1\n", "customer_id\n2\n"])
        #expect(try journal.find("a.csv").map(\.state) == [.archived, .duplicate, .archived])
    }

    @Test func aFileReDroppedUnderItsNameWhileUploadingKeepsBothContents() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        let journal = try fixture.journal()
        let ingestor = Ingestor(configuration: fixture.configuration, store: bucket, journal: journal)
        let first = "customer_id\n" + String(repeating: "1\n", count: 3_000_000)
        try await whileRunning(ingestor) {
            try fixture.land("same.csv", first)
            // Once ingest has taken the first (it is no longer in landing), the producer drops a new one.
            #expect(await eventually { !FileManager.default.fileExists(atPath: fixture.landing + "/same.csv") })
            try fixture.land("same.csv", "customer_id\n2\n")
            #expect(await eventually { try journal.counts()[.archived] == 2 })
        }
        let texts = try await bucket.list(after: nil).asyncMap { String(buffer: try await bucket.get($0.key)) }
        #expect(Set(texts) == [first, "customer_id\n2\n"])
    }

    @Test func aFileThatKeepsFailingGoesToTheFailedFolderAndTheRestFlow() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        var configuration = fixture.configuration
        configuration.keyTemplate = try ObjectKeyTemplate("{name}")
        // A regular file where an object's folder must go: the directory bucket cannot store
        // `blocked/…`, for real, every time.
        #expect(FileManager.default.createFile(atPath: fixture.root + "/bucket/blocked", contents: Data()))
        let ingestor = Ingestor(configuration: configuration, store: bucket, journal: try fixture.journal())
        try await whileRunning(ingestor) {
            try fixture.land("good.csv", "customer_id\n1\n")
            #expect(await eventually { try await bucket.head(try ObjectKey("good.csv")) != nil })
        }
        var blocked = configuration
        blocked.keyTemplate = try ObjectKeyTemplate("blocked/{name}")
        let failing = Ingestor(configuration: blocked, store: bucket, journal: try fixture.journal())
        try await whileRunning(failing) {
            try fixture.land("bad.csv", "customer_id\n2\n")
            #expect(await eventually { FileManager.default.fileExists(atPath: fixture.root + "/failed/bad.csv") })
        }
        let reason = try String(contentsOfFile: fixture.root + "/failed/bad.csv.error.txt", encoding: .utf8)
        #expect(reason.contains("upload failed 5 times"))
        let entry = try #require(try fixture.journal().find("bad.csv").first)
        #expect(entry.state == .failed)
        #expect(entry.attempts == 5)
    }

    @Test func anInterruptedJourneyIsResumedFromTheJournal() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        let journal = try fixture.journal()
        // A crash after admitting `a.csv` (upload unconfirmed) and after uploading `b.csv` (not archived).
        try Data("customer_id\n1\n".utf8).write(to: URL(fileURLWithPath: fixture.landing + "/a.csv"))
        try Data("customer_id\n2\n".utf8).write(to: URL(fileURLWithPath: fixture.landing + "/b.csv"))
        guard
            case .upload(let a) = try journal.admit(
                name: "a.csv",
                landingPath: fixture.landing + "/a.csv",
                size: 14,
                sha256: "aa",
                key: "k/a.csv"
            )
        else { throw TestFailure("a.csv not admitted") }
        guard
            case .upload(let b) = try journal.admit(
                name: "b.csv",
                landingPath: fixture.landing + "/b.csv",
                size: 14,
                sha256: "bb",
                key: "k/b.csv"
            )
        else { throw TestFailure("b.csv not admitted") }
        _ = try await bucket.put(file: fixture.landing + "/b.csv", key: try ObjectKey("k/b.csv"))
        try journal.recordUpload(b.id, etag: "e")
        let ingestor = Ingestor(configuration: fixture.configuration, store: bucket, journal: journal)
        try await whileRunning(ingestor) {
            #expect(await eventually { try journal.unfinished().isEmpty })
        }
        #expect(try await bucket.list(after: nil).map(\.key.rawValue) == ["k/a.csv", "k/b.csv"])
        #expect(try journal.find("a.csv").map(\.state) == [.archived])
        #expect(try journal.find("b.csv").map(\.etag) == ["e"], "b.csv was not uploaded again")
        #expect(a.id < b.id)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.landing).isEmpty)
    }

    @Test func gracefulShutdownLetsUploadsInFlightFinish() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        let journal = try fixture.journal()
        let big = String(repeating: "1234567,name\n", count: 2_000_000)
        try await testGracefulShutdown { trigger in
            let ingestor = Ingestor(configuration: fixture.configuration, store: bucket, journal: journal)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await ingestor.run() }
                try fixture.land("big.csv", big)
                #expect(await eventually { ingestor.statistics.inFlight == 1 })
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        #expect(try journal.find("big.csv").map(\.state) == [.archived])
        #expect(try await bucket.list(after: nil).first?.size == Int64(big.utf8.count))
    }

    @Test func keyTemplatesAndTemporaryNames() throws {
        // 2026-11-25 10:30:00 UTC
        let seconds: Int64 = 1_795_602_600
        #expect(
            ObjectKeyTemplate.datePartitioned.key(name: "a.csv", landedAtEpochSeconds: seconds) == "2026/11/25/a.csv"
        )
        #expect(
            try ObjectKeyTemplate("in/{yyyy}{MM}{dd}T{HH}/{name}").key(name: "a", landedAtEpochSeconds: seconds)
                == "in/20261125T10/a"
        )
        #expect(throws: IngestError.self) { try ObjectKeyTemplate("{yyyy}/x.csv") }
        #expect(throws: IngestError.self) { try ObjectKeyTemplate("{name}/{mm}") }
        for name in [".hidden.csv", "a.csv.tmp", "a.csv.part", "a.CSV.PARTIAL", "a.csv~"] {
            #expect(IngestConfiguration.isTemporaryName(name), "\(name)")
        }
        #expect(!IngestConfiguration.isTemporaryName("customers-000001.csv"))
    }
}

/// A thread-safe list of uploaded entries.
final class UploadLog: Sendable {
    let entries = Mutex<[IngestedFile]>([])
    func append(_ entry: IngestedFile) { entries.withLock { $0.append(entry) } }
    var count: Int { entries.withLock { $0.count } }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
