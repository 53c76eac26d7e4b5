import FirnBench
import FirnTestSupport
import Foundation
import NIOCore
import Testing

@testable import FirnObjectStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ``S3Bucket`` against a real S3 server: moto (see ``MotoServer``), or `FIRN_TEST_S3_ENDPOINT`.
/// Each test works in a bucket of its own, so the tests can run in parallel.
@Suite("S3 bucket")
struct S3BucketTests {
    /// `FIRN_TEST_S3_ACCESS_KEY_ID` and `FIRN_TEST_S3_SECRET_ACCESS_KEY` when set (a server that
    /// checks signatures); otherwise made-up keys, which moto accepts. Never in an error.
    static let credentials = S3Credentials(
        accessKeyId: givenKey?.id ?? "AKIDFIRNTEST",
        secretAccessKey: givenKey?.secret ?? "firn-test-secret-0123"
    )

    /// The key named by the environment, if any.
    static var givenKey: (id: String, secret: String)? {
        let environment = ProcessInfo.processInfo.environment
        guard let id = environment["FIRN_TEST_S3_ACCESS_KEY_ID"], !id.isEmpty,
            let secret = environment["FIRN_TEST_S3_SECRET_ACCESS_KEY"], !secret.isEmpty
        else { return nil }
        return (id, secret)
    }

    static func location(_ bucket: String, prefix: String = "landing", endpoint: URL) -> S3Location {
        S3Location(bucket: bucket, prefix: prefix, endpoint: endpoint, addressing: .path)
    }

    /// A newly created bucket on the test server, with a unique name.
    func freshBucket(
        prefix: String = "landing",
        configuration: S3Bucket.Configuration = .init()
    ) async throws -> S3Bucket {
        let endpoint = try await MotoServer.sharedEndpoint()
        let name = "firn-test-" + UUID().uuidString.lowercased().prefix(13)
        let bucket = S3Bucket(
            location: Self.location(name, prefix: prefix, endpoint: endpoint),
            credentials: Self.credentials,
            configuration: configuration
        )
        try await bucket.createBucket()
        try await bucket.createBucket()  // a second time is fine: the bucket is already ours
        return bucket
    }

    /// A unique path for a local file.
    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("firn-s3-\(UUID().uuidString)-\(name)").path
    }

    @Test func putGetHeadListDeleteUnderPrefix() async throws {
        let bucket = try await freshBucket()
        let a = try ObjectKey("2026/11/25/a.csv")
        let odd = try ObjectKey("2026/11/25/a b+c$é~(1)%2F.csv")
        let stored = try await bucket.put(ByteBuffer(string: "id\n1\n"), key: a)
        #expect(stored.size == 5)
        #expect(stored.etag.count == 32 && stored.etag.allSatisfy(\.isHexDigit), "single-part ETag is an unquoted MD5")
        let source = temporaryPath("small.csv")
        defer { unlink(source) }
        try "odd key\n".write(toFile: source, atomically: false, encoding: .utf8)
        let oddStored = try await bucket.put(file: source, key: odd)
        #expect(oddStored.size == 8)

        #expect(String(buffer: try await bucket.get(a)) == "id\n1\n")
        #expect(String(buffer: try await bucket.get(odd)) == "odd key\n")
        #expect(try await bucket.head(a) == stored)
        #expect(try await bucket.head(odd) == oddStored)
        let listed = try await bucket.list(after: nil)
        #expect(listed == [stored, oddStored].sorted { $0.key < $1.key })

        // The same bucket without a prefix: objects sit under `landing/`, and neighbours of the
        // prefix (`landing2/…`, `landing.csv`) are not in the prefixed bucket's listing.
        let whole = S3Bucket(
            location: Self.location(bucket.s3Location.bucket, prefix: "", endpoint: bucket.s3Location.endpoint),
            credentials: Self.credentials
        )
        #expect(try await whole.head(ObjectKey("landing/2026/11/25/a.csv"))?.etag == stored.etag)
        _ = try await whole.put(ByteBuffer(string: "x"), key: ObjectKey("landing2/outside.csv"))
        _ = try await whole.put(ByteBuffer(string: "x"), key: ObjectKey("landing.csv"))
        #expect(try await bucket.list(after: nil) == listed)
        #expect(try await whole.list(after: nil).count == 4)

        let copy = temporaryPath("copy.csv")
        defer { unlink(copy) }
        #expect(try await bucket.download(odd, to: copy) == oddStored)
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == "odd key\n")

        try await bucket.delete(a)
        try await bucket.delete(a)
        #expect(try await bucket.list(after: nil).map(\.key) == [odd])
        #expect(try await bucket.head(a) == nil)
        await #expect(throws: ObjectStoreError.notFound(key: a.rawValue)) { try await bucket.get(a) }
    }

    @Test(
        .enabled(
            if: givenKey != nil,
            """
            needs FIRN_TEST_S3_ENDPOINT, FIRN_TEST_S3_ACCESS_KEY_ID and FIRN_TEST_S3_SECRET_ACCESS_KEY naming a \
            server that checks signatures (moto does not by default); SigV4Tests check them against AWS's examples
            """
        )
    )
    func wrongSecretIsRefusedWithoutShowingIt() async throws {
        let bucket = try await freshBucket()
        var forged = Self.credentials
        forged.secretAccessKey = "not-the-secret-" + UUID().uuidString
        let impostor = S3Bucket(location: bucket.s3Location, credentials: forged)
        do {
            _ = try await impostor.list(after: nil)
            Issue.record("the server accepted a request signed with the wrong secret")
        } catch let error as ObjectStoreError {
            guard case .server(403, "SignatureDoesNotMatch", _, _) = error else {
                Issue.record("expected 403 SignatureDoesNotMatch, got \(error)")
                return
            }
            #expect(!error.description.contains(forged.secretAccessKey))
            #expect(!error.isTransient)
        }
    }

    @Test func creatingABucketOutsideUSEast1TwiceIsFine() async throws {
        let endpoint = try await MotoServer.sharedEndpoint()
        var location = Self.location("firn-test-eu-" + UUID().uuidString.lowercased().prefix(8), endpoint: endpoint)
        location.region = "eu-west-1"
        let bucket = S3Bucket(location: location, credentials: Self.credentials)
        try await bucket.createBucket()
        try await bucket.createBucket()
        let key = try ObjectKey("a.csv")
        let stored = try await bucket.put(ByteBuffer(string: "eu"), key: key)
        #expect(try await bucket.list(after: nil) == [stored])
    }

    @Test func listingFollowsPagesAndStartsAfterAKey() async throws {
        let bucket = try await freshBucket(configuration: .init(listPageSize: 2))
        let keys = try (0..<5).map { try ObjectKey("k\($0).csv") }
        for key in keys { _ = try await bucket.put(ByteBuffer(string: key.rawValue), key: key) }

        let first = try await bucket.listPage(after: nil, continuation: nil)
        #expect(first.objects.map(\.key) == Array(keys[0..<2]))
        let token = try #require(first.continuation, "five keys at two per page need a second page")
        let second = try await bucket.listPage(after: nil, continuation: token)
        #expect(second.objects.map(\.key) == Array(keys[2..<4]))

        #expect(try await bucket.list(after: nil).map(\.key) == keys)
        #expect(try await bucket.list(after: keys[1]).map(\.key) == Array(keys[2...]))
        #expect(try await bucket.list(after: ObjectKey("k2")).map(\.key) == Array(keys[2...]))
        #expect(try await bucket.list(after: keys[4]).isEmpty)
    }

    @Test func largeFileGoesUpInPartsAndComesBackIdentical() async throws {
        let bucket = try await freshBucket()
        let size = 17 << 20 + 12_345
        var generator = SeededGenerator(seed: 17)
        var bytes = [UInt8]()
        bytes.reserveCapacity(size + 8)
        while bytes.count < size { withUnsafeBytes(of: generator.next()) { bytes.append(contentsOf: $0) } }
        let original = Data(bytes[..<size])
        let source = temporaryPath("large.bin")
        defer { unlink(source) }
        try original.write(to: URL(fileURLWithPath: source))

        let key = try ObjectKey("big/large.bin")
        let clock = ContinuousClock()
        let started = clock.now
        let stored = try await bucket.put(file: source, key: key)
        let uploaded = clock.now - started
        #expect(stored.size == Int64(size))
        #expect(stored.etag.hasSuffix("-3"), "17 MiB in 8 MiB parts is 3 parts; got \(stored.etag)")
        #expect(try await bucket.head(key) == stored)
        #expect(try await bucket.list(after: nil) == [stored])

        let copy = temporaryPath("large-copy.bin")
        defer { unlink(copy) }
        let downloadStart = clock.now
        #expect(try await bucket.download(key, to: copy) == stored)
        let downloaded = clock.now - downloadStart
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == original)
        #expect(Data(try await bucket.get(key).readableBytesView) == original)
        print("S3BucketTests: \(size) bytes up in 3 parts in \(uploaded), downloaded in \(downloaded)")
    }

    @Test func failedMultipartUploadIsAborted() async throws {
        let bucket = try await freshBucket()
        func pendingUploads() async throws -> Int {
            let response = try await bucket.send(.GET, path: bucket.bucketPath, query: [("uploads", "")], key: nil)
            try await bucket.check(response, key: nil)
            let root = try #require(S3XMLElement.parse(try await response.body.collect(upTo: 1 << 20)))
            #expect(root.name == "ListMultipartUploadsResult")
            return root.children("Upload").count
        }
        let probe = try ObjectKey("probe.bin")
        let uploadId = try await bucket.createMultipartUpload(probe)
        #expect(try await pendingUploads() == 1, "the listing sees an upload in progress")
        await bucket.abortMultipartUpload(probe, uploadId: uploadId)
        #expect(try await pendingUploads() == 0)

        // A file that is shorter than announced: its second part cannot be read.
        let source = temporaryPath("short.bin")
        defer { unlink(source) }
        try Data(repeating: 7, count: 9 << 20).write(to: URL(fileURLWithPath: source))
        let key = try ObjectKey("short.bin")
        await #expect(throws: ObjectStoreError.self) {
            try await bucket.putMultipart(file: source, size: 17 << 20, key: key)
        }
        #expect(try await pendingUploads() == 0, "the failed upload was aborted")
        #expect(try await bucket.head(key) == nil)
    }

    /// `HTTPClient.shared` decompresses: an object stored with `Content-Encoding: gzip` is
    /// downloaded decoded, and its compressed Content-Length must not fail the download. (Its
    /// `HEAD` fails with that client: NIO's decompressor expects a body; see `S3Bucket.head`.)
    @Test func gzipEncodedObjectDownloadsDecoded() async throws {
        let bucket = try await freshBucket()
        let key = try ObjectKey("encoded.csv")
        // gzip.compress(b"id\n1\n" * 3, mtime=0) in Python.
        let gzipped: [UInt8] = [
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x4c, 0xe1, 0x32, 0xe4, 0xca, 0x84,
            0x13, 0x00, 0xd8, 0x65, 0xd9, 0x38, 0x0f, 0x00, 0x00, 0x00,
        ]
        let response = try await bucket.send(
            .PUT,
            path: bucket.objectPath(key),
            headers: [("Content-Encoding", "gzip")],
            body: ByteBuffer(bytes: gzipped),
            key: key
        )
        try await bucket.check(response, key: key)
        try await bucket.drain(response)
        let copy = temporaryPath("encoded.csv")
        defer { unlink(copy) }
        let info = try await bucket.download(key, to: copy)
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == String(repeating: "id\n1\n", count: 3))
        #expect(info.size == 15)
    }

    @Test func missingObjectsAndBuckets() async throws {
        let bucket = try await freshBucket()
        let missing = try ObjectKey("missing.csv")
        await #expect(throws: ObjectStoreError.notFound(key: "missing.csv")) { try await bucket.get(missing) }
        #expect(try await bucket.head(missing) == nil)
        let destination = temporaryPath("never.csv")
        await #expect(throws: ObjectStoreError.notFound(key: "missing.csv")) {
            try await bucket.download(missing, to: destination)
        }
        #expect(!FileManager.default.fileExists(atPath: destination))
        try await bucket.delete(missing)

        let absent = S3Bucket(
            location: Self.location(
                "firn-absent-" + UUID().uuidString.lowercased().prefix(8),
                endpoint: bucket.s3Location.endpoint
            ),
            credentials: Self.credentials
        )
        do {
            _ = try await absent.list(after: nil)
            Issue.record("listing a missing bucket succeeded")
        } catch let error as ObjectStoreError {
            guard case .server(404, "NoSuchBucket", _, nil) = error else {
                Issue.record("expected NoSuchBucket, got \(error)")
                return
            }
            #expect(!error.isTransient)
        }
        await #expect(throws: ObjectStoreError.self) { try await absent.get(missing) }
    }

    @Test func unreachableEndpointIsTransientAndKeepsSecrets() async throws {
        let port = try MotoServer.freePort()
        let bucket = S3Bucket(
            location: Self.location("firn", endpoint: URL(string: "http://127.0.0.1:\(port)")!),
            credentials: Self.credentials,
            configuration: .init(requestTimeout: .seconds(2))
        )
        let clock = ContinuousClock()
        let started = clock.now
        for operation in ["head", "put"] {
            do {
                if operation == "head" {
                    _ = try await bucket.head(ObjectKey("a.csv"))
                } else {
                    _ = try await bucket.put(ByteBuffer(string: "x"), key: ObjectKey("a.csv"))
                }
                Issue.record("\(operation) reached a port nothing listens on")
            } catch let error as ObjectStoreError {
                guard case .unreachable(let endpoint, _) = error else {
                    Issue.record("expected unreachable, got \(error)")
                    continue
                }
                #expect(endpoint == "http://127.0.0.1:\(port)")
                #expect(error.isTransient)
                #expect(!error.description.contains(Self.credentials.secretAccessKey))
                #expect(!error.description.contains("Signature="))
                if operation == "head" { print("S3BucketTests: the error reads: \(error)") }
            }
        }
        // No timing assertion: other suites share the machine; the figure is printed instead.
        let elapsed = clock.now - started
        print("S3BucketTests: two requests to a closed port gave up after \(elapsed)")
        #expect(!"\(bucket)".contains(Self.credentials.secretAccessKey))
    }

    @Test func endpointThatGoesAwayAndComesBack() async throws {
        let server = try await MotoServer.launch()
        do {
            try await goAwayAndComeBack(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    func goAwayAndComeBack(_ server: MotoServer) async throws {
        let bucket = S3Bucket(
            location: Self.location("firn-restart", endpoint: server.endpoint),
            credentials: Self.credentials,
            configuration: .init(requestTimeout: .seconds(20))
        )
        try await bucket.createBucket()
        let key = try ObjectKey("a.csv")
        _ = try await bucket.put(ByteBuffer(string: "before"), key: key)

        await server.stop()
        let quick = S3Bucket(
            location: bucket.s3Location,
            credentials: Self.credentials,
            configuration: .init(requestTimeout: .seconds(1))
        )
        do {
            _ = try await quick.head(key)
            Issue.record("a stopped server answered")
        } catch let error as ObjectStoreError {
            guard case .unreachable = error else {
                Issue.record("expected unreachable, got \(error)")
                return
            }
        }

        // A request made while the server is down waits for it (the HTTP client retries the
        // connection) as long as the request timeout allows. A restarted moto is empty.
        let clock = ContinuousClock()
        let started = clock.now
        async let restarted: Void = Self.start(server, after: .seconds(2))
        try await bucket.createBucket()
        try await restarted
        let waited = clock.now - started
        #expect(waited >= .seconds(2))
        _ = try await bucket.put(ByteBuffer(string: "after"), key: key)
        #expect(String(buffer: try await bucket.get(key)) == "after")
        print("S3BucketTests: a request made while moto was down succeeded \(waited) later, once it was back")
    }

    static func start(_ server: MotoServer, after delay: Duration) async throws {
        try await Task.sleep(for: delay)
        try await server.start()
    }

    @Test func pathAndVirtualHostedAddresses() throws {
        let key = try ObjectKey("2026/a b+é.csv")
        let local = S3Bucket(
            location: S3Location(
                bucket: "firn",
                prefix: "landing",
                endpoint: URL(string: "http://127.0.0.1:9000")!,
                addressing: .path
            ),
            credentials: Self.credentials
        )
        let path = local.address(path: local.objectPath(key))
        #expect(path.url == "http://127.0.0.1:9000/firn/landing/2026/a%20b%2B%C3%A9.csv")
        #expect(path.host == "127.0.0.1:9000")
        #expect(local.bucketPath == "/firn")
        #expect(
            local.address(path: local.bucketPath, query: [("prefix", "landing/"), ("list-type", "2")]).url
                == "http://127.0.0.1:9000/firn?list-type=2&prefix=landing%2F"
        )

        let aws = S3Bucket(
            location: try S3Location(parsing: "s3://firn/landing?region=eu-west-1"),
            credentials: Self.credentials
        )
        let virtual = aws.address(path: aws.objectPath(key))
        #expect(virtual.url == "https://firn.s3.eu-west-1.amazonaws.com/landing/2026/a%20b%2B%C3%A9.csv")
        #expect(virtual.host == "firn.s3.eu-west-1.amazonaws.com")
        #expect(aws.bucketPath == "/")

        let defaultPort = S3Bucket(
            location: try S3Location(parsing: "s3://firn?endpoint=https://minio.example:443&addressing=virtual"),
            credentials: Self.credentials
        )
        #expect(defaultPort.address(path: defaultPort.objectPath(key)).host == "firn.minio.example")
    }

    /// Whether `name` resolves to an address here (`*.localhost` does with systemd-resolved).
    static func resolves(_ name: String) -> Bool {
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, nil, &result) == 0 else { return false }
        freeaddrinfo(result)
        return true
    }

    @Test(
        .enabled(
            if: resolves("firn-probe.localhost"),
            """
            bucket.localhost does not resolve on this machine, so virtual-hosted requests cannot reach moto; \
            pathAndVirtualHostedAddresses still checks their URLs and Host headers
            """
        )
    )
    func virtualHostedAddressingAgainstMoto() async throws {
        let endpoint = try await MotoServer.sharedEndpoint()
        let name = "firn-virtual-" + UUID().uuidString.lowercased().prefix(8)
        var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)!
        components.host = "localhost"
        let bucket = S3Bucket(
            location: S3Location(bucket: name, prefix: "landing", endpoint: components.url!, addressing: .virtual),
            credentials: Self.credentials
        )
        try await bucket.createBucket()
        let key = try ObjectKey("a b.csv")
        let stored = try await bucket.put(ByteBuffer(string: "virtual"), key: key)
        #expect(String(buffer: try await bucket.get(key)) == "virtual")
        #expect(try await bucket.list(after: nil) == [stored])
    }
}
