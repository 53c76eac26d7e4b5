import AsyncHTTPClient
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bucket on Amazon S3 or any S3-compatible server (MinIO, moto, R2…), signed with AWS
/// Signature Version 4 and spoken over async-http-client.
///
/// Keys live below the location's prefix: with prefix `landing`, key `2026/a.csv` is the S3 object
/// `landing/2026/a.csv`, and ``list(after:)`` lists only objects under `landing/`, with the prefix
/// removed again. Requests go to `endpoint/bucket/prefix/key` (path-style) or
/// `bucket.endpoint-host/prefix/key` (virtual-hosted), as ``S3Location/addressing`` says.
///
/// Small bodies are signed with their SHA-256, so S3 rejects a body damaged in transit. Files
/// above ``Configuration/multipartThreshold`` go up as a multipart upload of
/// ``Configuration/partSize`` parts; a failed upload is aborted so its parts are not billed.
///
/// Errors are ``ObjectStoreError``: S3's `<Error>` responses become `server(status:code:message:key:)`
/// (a missing object `notFound`), and a connection that cannot be made or breaks becomes
/// `unreachable`, for which ``ObjectStoreError/isTransient`` is `true`. Credentials and
/// signatures appear in no error and no description. Cancelling the calling task throws
/// `CancellationError`.
///
/// ## Topics
/// - ``init(location:credentials:configuration:httpClient:)``
/// - ``Configuration``
/// - ``createBucket()``
public struct S3Bucket: ObjectStore, CustomStringConvertible {
    /// Sizes, page lengths and timeouts.
    public struct Configuration: Sendable, Hashable {
        /// Files larger than this many bytes are uploaded in parts. Defaults to 16 MiB.
        public var multipartThreshold: Int
        /// The size of each part of a multipart upload, in bytes. Defaults to 8 MiB; values below
        /// S3's minimum of 5 MiB are raised to it, and the size grows when a file would need more
        /// than S3's 10,000 parts.
        public var partSize: Int
        /// How many parts of one file are uploaded at once; each holds one part in memory.
        /// Defaults to `4`.
        public var partConcurrency: Int
        /// How many keys each listing request asks for (S3 returns at most 1,000). Defaults to `1000`.
        public var listPageSize: Int
        /// The longest one request may take, connecting included: a small object, one part, one
        /// listing page, a `HEAD` or a `DELETE`. While an endpoint refuses connections the
        /// HTTP client keeps retrying until this passes, then the call throws `unreachable`.
        /// Defaults to `60` seconds.
        public var requestTimeout: TimeAmount
        /// The longest a whole-object read (``S3Bucket/get(_:)``, ``S3Bucket/download(_:to:)``)
        /// may take. Defaults to `30` minutes.
        public var transferTimeout: TimeAmount

        /// Creates a configuration; every parameter has the default documented on its property.
        public init(
            multipartThreshold: Int = 16 << 20,
            partSize: Int = 8 << 20,
            partConcurrency: Int = 4,
            listPageSize: Int = 1000,
            requestTimeout: TimeAmount = .seconds(60),
            transferTimeout: TimeAmount = .minutes(30)
        ) {
            self.multipartThreshold = multipartThreshold
            self.partSize = partSize
            self.partConcurrency = partConcurrency
            self.listPageSize = listPageSize
            self.requestTimeout = requestTimeout
            self.transferTimeout = transferTimeout
        }

        /// S3's smallest part (except the last).
        public static let minimumPartSize = 5 << 20
    }

    /// The bucket, prefix, endpoint, region and addressing style.
    public let s3Location: S3Location
    /// The sizes and timeouts in use.
    public let configuration: Configuration
    let credentials: S3Credentials
    let httpClient: HTTPClient

    public var location: BucketLocation { .s3(s3Location) }

    public var description: String { "S3Bucket(\(s3Location))" }

    /// Opens a bucket. Nothing is sent until the first operation.
    ///
    /// - Parameters:
    ///   - location: Bucket, prefix, endpoint, region and addressing.
    ///   - credentials: The key that signs every request (see ``S3Credentials/fromEnvironment(_:)``).
    ///   - configuration: Sizes and timeouts. Defaults to ``Configuration``'s documented defaults.
    ///   - httpClient: The client that sends requests. Defaults to `HTTPClient.shared`, which
    ///     decompresses responses: see ``head(_:)`` and ``download(_:to:)`` for objects stored
    ///     with a `Content-Encoding`.
    public init(
        location: S3Location,
        credentials: S3Credentials,
        configuration: Configuration = Configuration(),
        httpClient: HTTPClient = .shared
    ) {
        self.s3Location = location
        self.credentials = credentials
        self.configuration = configuration
        self.httpClient = httpClient
    }

    /// Creates the bucket; succeeds when it exists and is already ours.
    ///
    /// For tests and first runs against a fresh server. Outside `us-east-1` the request names
    /// the location's region.
    ///
    /// - Throws: ``ObjectStoreError``, for instance `server` with code `BucketAlreadyExists` when
    ///   someone else owns the name.
    public func createBucket() async throws {
        let body =
            s3Location.region == "us-east-1"
            ? nil : ByteBuffer(string: S3XML.createBucketConfiguration(region: s3Location.region))
        let response = try await send(.PUT, path: bucketPath, body: body, key: nil)
        if (200..<300).contains(response.status.code) {
            try await drain(response)
            return
        }
        do {
            try await check(response, key: nil)
        } catch let error as ObjectStoreError {
            if case .server(_, "BucketAlreadyOwnedByYou", _, _) = error { return }
            throw error
        }
    }

    public func put(_ bytes: ByteBuffer, key: ObjectKey) async throws -> ObjectInfo {
        let response = try await send(.PUT, path: objectPath(key), body: bytes, key: key)
        try await check(response, key: key)
        try await drain(response)
        return ObjectInfo(key: key, size: Int64(bytes.readableBytes), etag: etag(of: response))
    }

    public func put(file path: String, key: ObjectKey) async throws -> ObjectInfo {
        let size = try await DirectoryBucket.offload { () throws(ObjectStoreError) in try PartReader.size(of: path) }
        if size > Int64(configuration.multipartThreshold) {
            return try await putMultipart(file: path, size: size, key: key)
        }
        let bytes = try await DirectoryBucket.offload { () throws(ObjectStoreError) in
            try PartReader.read(path, offset: 0, count: Int(size))
        }
        return try await put(bytes, key: key)
    }

    public func get(_ key: ObjectKey) async throws -> ByteBuffer {
        let response = try await send(.GET, path: objectPath(key), key: key, timeout: configuration.transferTimeout)
        try await check(response, key: key)
        return try await transport { try await response.body.collect(upTo: Int.max) }
    }

    /// Streams the object into the file at `path` as it arrives. When the transfer fails the
    /// partial file is removed; a body shorter than its `Content-Length` throws `unreachable`.
    ///
    /// An object stored with a `Content-Encoding` such as `gzip` arrives decoded when the HTTP
    /// client decompresses (`HTTPClient.shared` does); pass a client configured with
    /// `decompression: .disabled` to keep such objects' stored bytes.
    public func download(_ key: ObjectKey, to path: String) async throws -> ObjectInfo {
        let response = try await send(.GET, path: objectPath(key), key: key, timeout: configuration.transferTimeout)
        try await check(response, key: key)
        let output = try LocalFile.create(path)
        var written: Int64 = 0
        do {
            defer { close(output.descriptor) }
            try await transport {
                for try await chunk in response.body {
                    try chunk.withUnsafeReadableBytes { (raw) throws(ObjectStoreError) in
                        try LocalFile.writeAll(raw, to: output)
                    }
                    written += Int64(chunk.readableBytes)
                }
            }
            // A stored Content-Encoding (gzip) is undone by a decompressing client such as
            // `HTTPClient.shared`, and Content-Length then counts the compressed bytes.
            let encoding = response.headers.first(name: "Content-Encoding")?.lowercased() ?? "identity"
            if let expected = contentLength(of: response), expected != written, encoding == "identity" {
                throw ObjectStoreError.unreachable(
                    endpoint: endpointDescription,
                    reason:
                        "the download of \(key.rawValue.debugDescription) stopped after \(written) of \(expected) bytes"
                )
            }
        } catch {
            unlink(path)
            throw error
        }
        return ObjectInfo(key: key, size: written, etag: etag(of: response))
    }

    /// Describes an object, or returns `nil` on `404`. A `HEAD` response has no body, so a
    /// missing bucket also gives `nil`; ``list(after:)`` tells the two apart.
    ///
    /// With a decompressing HTTP client (`HTTPClient.shared`), the `HEAD` of an object stored
    /// with a `Content-Encoding` such as `gzip` fails as `unreachable`: NIO's decompressor
    /// expects a body. Buckets holding such objects want a client with `decompression: .disabled`.
    public func head(_ key: ObjectKey) async throws -> ObjectInfo? {
        let response = try await send(.HEAD, path: objectPath(key), key: key)
        if response.status == .notFound {
            try await drain(response)
            return nil
        }
        try await check(response, key: key)
        try await drain(response)
        return ObjectInfo(key: key, size: contentLength(of: response) ?? 0, etag: etag(of: response))
    }

    public func list(after: ObjectKey?) async throws -> [ObjectInfo] {
        var found: [ObjectInfo] = []
        var page = try await listPage(after: after, continuation: nil)
        found += page.objects
        while let continuation = page.continuation {
            page = try await listPage(after: nil, continuation: continuation)
            found += page.objects
        }
        return found
    }

    /// One `ListObjectsV2` request: up to ``Configuration/listPageSize`` objects under the
    /// prefix, after `after` (first page) or from `continuation` (later pages), and the token
    /// of the next page when there is one.
    func listPage(
        after: ObjectKey?,
        continuation: String?
    ) async throws -> (objects: [ObjectInfo], continuation: String?) {
        let keyPrefix = s3Location.prefix.isEmpty ? "" : s3Location.prefix + "/"
        var query: [(name: String, value: String)] = [
            ("list-type", "2"), ("max-keys", String(min(max(configuration.listPageSize, 1), 1000))),
        ]
        if !keyPrefix.isEmpty { query.append(("prefix", keyPrefix)) }
        if let continuation {
            query.append(("continuation-token", continuation))
        } else if let after {
            query.append(("start-after", keyPrefix + after.rawValue))
        }
        let response = try await send(.GET, path: bucketPath, query: query, key: nil)
        try await check(response, key: nil)
        let body = try await transport { try await response.body.collect(upTo: 64 << 20) }
        guard let page = S3XML.listPage(body) else {
            throw invalidResponse(response, "the listing is not a ListBucketResult document")
        }
        var objects: [ObjectInfo] = []
        // Compared and cut bytewise: S3 keys are byte strings, not Swift characters.
        for object in page.objects where object.key.utf8.starts(with: keyPrefix.utf8) {
            let relative = String(decoding: object.key.utf8.dropFirst(keyPrefix.utf8.count), as: UTF8.self)
            // Keys that are not valid object keys (folder markers such as `a/`, `a//b`) are not files.
            guard let key = try? ObjectKey(relative) else { continue }
            objects.append(ObjectInfo(key: key, size: object.size, etag: object.etag))
        }
        guard !page.isTruncated else {
            guard let next = page.nextContinuationToken else {
                throw invalidResponse(response, "a truncated listing has no NextContinuationToken")
            }
            return (objects, next)
        }
        return (objects, nil)
    }

    /// Deletes an object; a missing object is not an error, a missing bucket is.
    public func delete(_ key: ObjectKey) async throws {
        let response = try await send(.DELETE, path: objectPath(key), key: key)
        do {
            try await check(response, key: key)
        } catch ObjectStoreError.notFound {
            return
        }
        try await drain(response)
    }
}
