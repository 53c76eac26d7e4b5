import Foundation
import NIOCore
import Testing

@testable import FirnObjectStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

    @Test func aHandedOverFileIsLinkedIntoPlaceWithANewETagAndPuttingItAgainLeavesNoTemporary() async throws {
        let bucket = try DirectoryBucket(root: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = root + "-claimed.csv"
        defer { try? FileManager.default.removeItem(atPath: source) }
        try "id,name\n1,a\n".write(toFile: source, atomically: false, encoding: .utf8)
        // An old modification time, as a producer's file may have: the object's ETag must not
        // come from it.
        var old = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, source, &old, 0) == 0)
        let key = try ObjectKey("2026/12/04/claimed.csv")
        let first = try await bucket.put(handingOver: source, key: key)
        #expect(Self.inode(bucket.path(of: key)) == Self.inode(source))
        #expect(String(buffer: try await bucket.get(key)) == "id,name\n1,a\n")
        var status = stat()
        #expect(stat(bucket.path(of: key), &status) == 0 && status.st_mtim.tv_sec > 1_000_000_000)
        // Put again (a restarted ingest redoing the upload): the same file, a new ETag, and no
        // second name left in the temporary folder.
        try await Task.sleep(for: .milliseconds(20))
        let second = try await bucket.put(handingOver: source, key: key)
        #expect(second.etag != first.etag)
        #expect(Self.inode(bucket.path(of: key)) == Self.inode(source))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/.firn-tmp").isEmpty)
        #expect(try await bucket.list(after: nil).map(\.key) == [key])
    }

    @Test(
        "A handed-over file on another file system is copied",
        .enabled(if: DirectoryBucketTests.isOtherFileSystem("/dev/shm"), "needs /dev/shm on another file system")
    )
    func aHandedOverFileOnAnotherFileSystemIsCopied() async throws {
        let bucket = try DirectoryBucket(root: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = "/dev/shm/firn-handed-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: source) }
        try "id\n7\n".write(toFile: source, atomically: false, encoding: .utf8)
        let key = try ObjectKey("elsewhere.csv")
        _ = try await bucket.put(handingOver: source, key: key)
        #expect(Self.inode(bucket.path(of: key)) != Self.inode(source))
        #expect(String(buffer: try await bucket.get(key)) == "id\n7\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/.firn-tmp").isEmpty)
    }

    static func inode(_ path: String) -> ino_t? {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_ino : nil
    }

    static func isOtherFileSystem(_ path: String) -> Bool {
        var other = stat()
        var here = stat()
        return stat(path, &other) == 0 && stat(FileManager.default.temporaryDirectory.path, &here) == 0
            && other.st_dev != here.st_dev
    }

    @Test func aBucketDirectoryThatIsNotThereIsTheWholeBucketsErrorAndAKeysOwnIsNot() async throws {
        let bucket = try DirectoryBucket(root: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A file where a key's folder must go: that key's trouble only.
        #expect(FileManager.default.createFile(atPath: root + "/blocked", contents: Data()))
        do {
            _ = try await bucket.put(ByteBuffer(string: "x"), key: try ObjectKey("blocked/a.csv"))
            Issue.record("stored under a regular file")
        } catch let error as ObjectStoreError {
            guard case .io = error else { throw error }
            #expect(!error.isStoreWide)
        }
        // The bucket directory replaced by a regular file: every write fails, the bucket's error.
        try FileManager.default.removeItem(atPath: root)
        #expect(FileManager.default.createFile(atPath: root, contents: Data()))
        do {
            _ = try await bucket.put(ByteBuffer(string: "x"), key: try ObjectKey("a.csv"))
            Issue.record("stored into a bucket that is a file")
        } catch let error as ObjectStoreError {
            guard case .unavailable = error else { throw error }
            #expect(error.isStoreWide)
        }
        await #expect(throws: ObjectStoreError.self) { try await bucket.list(after: nil) }
        // Restored empty (no temporary folder): writes work again.
        try FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        _ = try await bucket.put(ByteBuffer(string: "x"), key: try ObjectKey("a.csv"))
        #expect(try await bucket.list(after: nil).map(\.key.rawValue) == ["a.csv"])
    }

    @Test func fileSystemWideErrnosAreTheBucketsAndOthersAreTheFilesOrKeys() {
        for code in [ENOSPC, EDQUOT, EROFS, EACCES, EPERM, EIO] {
            let error = LocalFile.failure(root + "/a", "write", errno: code, bucket: root)
            #expect(error.isStoreWide, "\(String(cString: strerror(code)))")
            #expect(!LocalFile.failure(root + "/a", "write", errno: code, bucket: nil).isStoreWide, "a download")
        }
        for code in [ENAMETOOLONG, ENOTDIR, EISDIR, EINVAL] {
            #expect(!LocalFile.failure(root + "/a", "rename", errno: code, bucket: root).isStoreWide)
        }
    }

    @Test func s3ErrorsOfTheBucketCredentialsOrServiceAreStoreWide() {
        for code in ["NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"] {
            #expect(ObjectStoreError.server(status: 400, code: code, message: "", key: "a").isStoreWide, "\(code)")
        }
        #expect(ObjectStoreError.server(status: 403, code: "Forbidden", message: "", key: nil).isStoreWide)
        #expect(ObjectStoreError.server(status: 503, code: "SlowDown", message: "", key: nil).isStoreWide)
        #expect(ObjectStoreError.unreachable(endpoint: "e", reason: "r").isStoreWide)
        #expect(ObjectStoreError.missingCredentials("AWS_ACCESS_KEY_ID").isStoreWide)
        #expect(!ObjectStoreError.server(status: 400, code: "EntityTooLarge", message: "", key: "a").isStoreWide)
        #expect(!ObjectStoreError.server(status: 400, code: "InvalidDigest", message: "", key: "a").isStoreWide)
        #expect(!ObjectStoreError.notFound(key: "a").isStoreWide)
        #expect(!ObjectStoreError.io(path: "/landing/a.csv", reason: "read").isStoreWide)
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
