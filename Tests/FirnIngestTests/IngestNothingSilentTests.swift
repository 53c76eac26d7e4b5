import FirnObjectStore
import Foundation
import Testing

@testable import FirnIngest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Landing files and stores that used to be retried forever, ignored or failed for nothing:
/// names at the file system's length limit, names that are not UTF-8, a bucket that is not there.
@Suite("Ingest: nothing silent")
struct IngestNothingSilentTests {
    /// Creates `name` (raw bytes, any but `/` and NUL) in `directory` with `text`, as open(2)
    /// does: Foundation's paths are Strings, which cannot hold every byte sequence.
    static func create(_ name: [UInt8], in directory: String, _ text: String) throws {
        let path = Array(directory.utf8) + [UInt8(ascii: "/")] + name
        let descriptor = withRawPath(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard descriptor >= 0 else { throw TestFailure("open: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count else { throw TestFailure("short write") }
    }

    /// Renames `from` (a plain name) to the raw name `to` inside `directory`, as a well-behaved producer does.
    static func move(_ from: String, to name: [UInt8], in directory: String) throws {
        let target = Array(directory.utf8) + [UInt8(ascii: "/")] + name
        let result = withRawPath(target) { rename(directory + "/" + from, $0) }
        guard result == 0 else { throw TestFailure("rename: \(String(cString: strerror(errno)))") }
    }

    static func withRawPath<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
        (bytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count, body)
        }
    }

    /// The names in `directory` as bytes (readdir), without `.` and `..`.
    static func rawNames(in directory: String) -> [[UInt8]] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names: [[UInt8]] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name != [UInt8(ascii: ".")] && name != [UInt8(ascii: "."), UInt8(ascii: ".")] { names.append(name) }
        }
        return names
    }

    @Test func aNameAtTheFileSystemsLengthLimitIsTakenArchivedAndReusable() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        let journal = try fixture.journal()
        let ingestor = Ingestor(configuration: fixture.configuration, store: bucket, journal: journal)
        // 255 bytes: the longest name Linux file systems allow, so any claim name built by
        // adding to it is too long.
        let name = String(repeating: "n", count: 251) + ".csv"
        // `fixture.land`'s temporary name would be too long itself.
        func land(_ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: fixture.landing + "/.long.tmp"))
            try FileManager.default.moveItem(
                atPath: fixture.landing + "/.long.tmp",
                toPath: fixture.landing + "/" + name
            )
        }
        try await whileRunning(ingestor) {
            try land("customer_id\n1\n")
            #expect(await eventually { try journal.find(name).map(\.state) == [.archived] })
            // The same name with new content: its key and its archive name need disambiguating,
            // which must also fit.
            try land("customer_id\n2\n")
            #expect(await eventually { try journal.find(name).map(\.state) == [.archived, .archived] })
        }
        let objects = try await bucket.list(after: nil)
        #expect(objects.count == 2)
        let texts = try await objects.asyncMap { String(buffer: try await bucket.get($0.key)) }
        #expect(Set(texts) == ["customer_id\n1\n", "customer_id\n2\n"])
        #expect(objects.contains { $0.key.name == name }, "the first keeps its name")
        #expect(try journal.find(name).allSatisfy { FileManager.default.fileExists(atPath: $0.finalPath ?? "") })
        #expect(Self.rawNames(in: fixture.landing).isEmpty)
        #expect(Self.rawNames(in: fixture.root + "/ingest-processing").isEmpty)
    }

    @Test func namesThatAreNotUTF8AreTakenUnderAnEscapedName() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        let journal = try fixture.journal()
        let ingestor = Ingestor(configuration: fixture.configuration, store: bucket, journal: journal)
        // Latin-1 "café.csv", renamed in (announced by inotify); and bytes never valid in UTF-8,
        // written in place (found by the rescan).
        let latin1: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".csv".utf8)
        let invalid: [UInt8] = [0xFF, 0xFE] + Array("raw.csv".utf8)
        try await whileRunning(ingestor) {
            try Self.create(Array(".in.tmp".utf8), in: fixture.landing, "customer_id\n1\n")
            try Self.move(".in.tmp", to: latin1, in: fixture.landing)
            try Self.create(invalid, in: fixture.landing, "customer_id\n2\n")
            #expect(await eventually { try journal.counts()[.archived] == 2 })
        }
        let keys = try await bucket.list(after: nil).map { String($0.key.name) }
        #expect(keys.sorted() == ["%FF%FEraw.csv", "caf%E9.csv"])
        #expect(try journal.find("caf%E9.csv").map(\.state) == [.archived])
        #expect(Self.rawNames(in: fixture.landing).isEmpty, "nothing left behind in landing")
    }

    @Test func aLongNamedFileThatKeepsFailingHasItsReasonBesideIt() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        // A regular file where the objects' folder must go: every upload fails, for real.
        #expect(FileManager.default.createFile(atPath: bucket.root + "/blocked", contents: Data()))
        var configuration = fixture.configuration
        configuration.keyTemplate = try ObjectKeyTemplate("blocked/{name}")
        let journal = try fixture.journal()
        let ingestor = Ingestor(configuration: configuration, store: bucket, journal: journal)
        let name = String(repeating: "f", count: 251) + ".csv"
        try await whileRunning(ingestor) {
            try Data("customer_id\n1\n".utf8).write(to: URL(fileURLWithPath: fixture.landing + "/.f.tmp"))
            try FileManager.default.moveItem(atPath: fixture.landing + "/.f.tmp", toPath: fixture.landing + "/" + name)
            #expect(await eventually { try journal.find(name).map(\.state) == [.failed] })
        }
        let failed = try #require(try journal.find(name).first?.finalPath)
        #expect(FileManager.default.fileExists(atPath: failed))
        let reason = try String(contentsOfFile: failed + ".error.txt", encoding: .utf8)
        #expect(reason.contains("upload failed 5 times"))
    }

    @Test func landingNamesEscapeOddBytesAndFitTheLimit() {
        #expect(LandingName(bytes: Array("plain.csv".utf8)).text == "plain.csv")
        #expect(!LandingName(bytes: Array("plain é.csv".utf8)).isEscaped)
        #expect(LandingName(bytes: [0x61, 0xE9, 0x2E, 0x63]).text == "a%E9.c")
        #expect(LandingName(bytes: [0x61, 0x0A, 0x62]).text == "a%0Ab", "control characters too")
        #expect(LandingName(bytes: [0xE2, 0x82]).text == "%E2%82", "a cut-off sequence")
        #expect(LandingName.fitted("a.csv", suffix: ".17") == "a.17.csv")
        #expect(LandingName.fitted("abc", suffix: ".17") == "abc.17")
        let long = String(repeating: "é", count: 126) + ".csv"  // 256 bytes
        let fitted = LandingName.fitted(long, suffix: ".17")
        #expect(fitted.utf8.count <= 255 && fitted.hasSuffix("é.17.csv"), "cut at a character boundary")
        #expect(IngestJournal.disambiguated("2026/12/01/" + long, id: 17).hasPrefix("2026/12/01/"))
    }

    @Test func aBucketDirectoryThatIsNotThereDelaysFilesUntilItIsBack() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        let journal = try fixture.journal()
        // Tests run as root, whom permissions do not stop: a regular file where the bucket's
        // directory was makes every write into the bucket fail for real (ENOTDIR).
        try FileManager.default.removeItem(atPath: bucket.root)
        #expect(FileManager.default.createFile(atPath: bucket.root, contents: Data()))
        let ingestor = Ingestor(configuration: fixture.configuration, store: bucket, journal: journal)
        try await whileRunning(ingestor) {
            try fixture.land("a.csv", "customer_id\n1\n")
            // Five failures would fail a file for good; a store-wide error is retried without limit.
            #expect(await eventually { ingestor.statistics.retries >= 10 }, "\(ingestor.statistics)")
            #expect(ingestor.statistics.filesFailed == 0)
            #expect(try journal.find("a.csv").map(\.state) == [.landed])
            #expect(try journal.find("a.csv").first?.attempts == 0, "no attempt of the file's own counted")
            try FileManager.default.removeItem(atPath: bucket.root)
            try FileManager.default.createDirectory(atPath: bucket.root, withIntermediateDirectories: false)
            #expect(await eventually { try journal.find("a.csv").map(\.state) == [.archived] })
        }
        #expect(try await bucket.list(after: nil).map { String($0.key.name) } == ["a.csv"])
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/failed/a.csv"))
    }
}
