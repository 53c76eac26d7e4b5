import FirnObjectStore
import Foundation
import NIOCore
import Testing

@Suite("Directory bucket")
struct DirectoryBucketTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("firn-bucket-\(UUID().uuidString)").path

    @Test func putGetHeadListDelete() async throws {
        let bucket = try DirectoryBucket(root: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let b = try ObjectKey("2026/11/25/b.csv")
        let a = try ObjectKey("2026/11/25/a.csv")
        let stored = try await bucket.put(ByteBuffer(string: "id\n1\n"), key: b)
        #expect(stored.size == 5)
        _ = try await bucket.put(ByteBuffer(string: "x"), key: a)
        #expect(String(buffer: try await bucket.get(b)) == "id\n1\n")
        #expect(try await bucket.head(b) == stored)
        #expect(try await bucket.head(try ObjectKey("missing.csv")) == nil)
        #expect(try await bucket.list(after: nil).map(\.key) == [a, b])
        #expect(try await bucket.list(after: a).map(\.key) == [b])
        try await bucket.delete(a)
        try await bucket.delete(a)
        #expect(try await bucket.list(after: nil).map(\.key) == [b])
        await #expect(throws: ObjectStoreError.notFound(key: a.rawValue)) { try await bucket.get(a) }
    }

    @Test func putFileCopiesAndReplacementChangesETag() async throws {
        let bucket = try DirectoryBucket(root: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = root + "-source.csv"
        defer { try? FileManager.default.removeItem(atPath: source) }
        let big = String(repeating: "0123456789", count: 300_000)
        try big.write(toFile: source, atomically: false, encoding: .utf8)
        let key = try ObjectKey("big.csv")
        let first = try await bucket.put(file: source, key: key)
        #expect(first.size == 3_000_000)
        let copy = root + "-copy.csv"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        _ = try await bucket.download(key, to: copy)
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == big)
        let second = try await bucket.put(ByteBuffer(string: "short"), key: key)
        #expect(second.etag != first.etag)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/.firn-tmp").isEmpty)
    }

    @Test(arguments: ["", "/abs.csv", "a//b", "a/../b", "./a", "tab\there"])
    func invalidKeysAreRefused(_ text: String) {
        #expect(throws: ObjectStoreError.self) { try ObjectKey(text) }
    }

    @Test func keysSortBytewiseLikeS3() throws {
        let keys = try ["b", "B", "a/z", "a-z", "é"].map(ObjectKey.init).sorted()
        #expect(keys.map(\.rawValue) == ["B", "a-z", "a/z", "b", "é"])
    }

    @Test func locationsParse() throws {
        #expect(try BucketLocation(parsing: "file:/tmp/b") == .directory(path: "/tmp/b"))
        guard case .s3(let s3) = try BucketLocation(parsing: "s3://firn/landing/x?endpoint=http://127.0.0.1:5000")
        else {
            Issue.record("not s3")
            return
        }
        #expect(s3.bucket == "firn")
        #expect(s3.prefix == "landing/x")
        #expect(s3.region == "us-east-1")
        #expect(s3.addressing == .path)
        guard case .s3(let aws) = try BucketLocation(parsing: "s3://firn?region=eu-west-1") else {
            Issue.record("not s3")
            return
        }
        #expect(aws.endpoint.absoluteString == "https://s3.eu-west-1.amazonaws.com")
        #expect(aws.addressing == .virtual)
        #expect(throws: ObjectStoreError.self) { try BucketLocation(parsing: "s3://b?secret=x") }
        #expect(throws: ObjectStoreError.self) { try BucketLocation(parsing: "gs://b") }
    }
}
