import FirnIngest
import FirnObjectStore
import Foundation
import Testing

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
            #expect(await eventually(20) { ingestor.statistics.retries >= 10 }, "\(ingestor.statistics)")
            #expect(ingestor.statistics.filesFailed == 0)
            #expect(try journal.find("a.csv").map(\.state) == [.landed])
            #expect(try journal.find("a.csv").first?.attempts == 0, "no attempt of the file's own counted")
            try FileManager.default.removeItem(atPath: bucket.root)
            try FileManager.default.createDirectory(atPath: bucket.root, withIntermediateDirectories: false)
            #expect(await eventually(20) { try journal.find("a.csv").map(\.state) == [.archived] })
        }
        #expect(try await bucket.list(after: nil).map { String($0.key.name) } == ["a.csv"])
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/failed/a.csv"))
    }
}
