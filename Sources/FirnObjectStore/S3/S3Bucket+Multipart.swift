import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension S3Bucket {
    /// Uploads a file as a multipart upload: CreateMultipartUpload, then UploadPart for each
    /// part (``Configuration/partConcurrency`` at a time, each signed with its SHA-256), then
    /// CompleteMultipartUpload. When anything fails the upload is aborted, so no parts linger,
    /// and the error is rethrown.
    ///
    /// The returned ETag has S3's multipart form, `md5-of-part-md5s-N` for N parts.
    func putMultipart(file path: String, size: Int64, key: ObjectKey) async throws -> ObjectInfo {
        let partSize = Self.partSize(for: size, configured: configuration.partSize)
        let partCount = Int((size + Int64(partSize) - 1) / Int64(partSize))
        let uploadId = try await createMultipartUpload(key)
        do {
            let parts = try await uploadParts(
                file: path,
                size: size,
                partSize: partSize,
                count: partCount,
                key: key,
                uploadId: uploadId
            )
            let etag = try await completeMultipartUpload(key, uploadId: uploadId, parts: parts)
            return ObjectInfo(key: key, size: size, etag: etag)
        } catch {
            // Abort even when the caller's task was cancelled: a detached task is not, and it is
            // awaited here, so nothing outlives this call.
            let bucket = self
            await Task.detached { await bucket.abortMultipartUpload(key, uploadId: uploadId) }.value
            throw error
        }
    }

    /// The part size for a file: the configured size raised to S3's 5 MiB minimum, and raised
    /// further so the file needs at most 10,000 parts.
    static func partSize(for fileSize: Int64, configured: Int) -> Int {
        let atLeastMinimum = max(configured, Configuration.minimumPartSize)
        let forPartLimit = Int((fileSize + 9_999) / 10_000)
        return max(atLeastMinimum, forPartLimit)
    }

    func createMultipartUpload(_ key: ObjectKey) async throws -> String {
        let response = try await send(.POST, path: objectPath(key), query: [("uploads", "")], key: key)
        try await check(response, key: key)
        let body = try await transport { try await response.body.collect(upTo: 1 << 20) }
        guard let uploadId = S3XML.uploadId(body) else {
            throw invalidResponse(response, "CreateMultipartUpload answered without an UploadId", key: key)
        }
        return uploadId
    }

    /// Uploads every part, at most ``Configuration/partConcurrency`` at once; returns the part
    /// numbers and ETags in order.
    func uploadParts(
        file path: String,
        size: Int64,
        partSize: Int,
        count: Int,
        key: ObjectKey,
        uploadId: String
    ) async throws -> [(number: Int, etag: String)] {
        let concurrency = max(1, configuration.partConcurrency)
        return try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var etags: [(number: Int, etag: String)] = []
            var next = 1
            func addPart() {
                let number = next
                next += 1
                let offset = Int64(number - 1) * Int64(partSize)
                let length = Int(min(Int64(partSize), size - offset))
                group.addTask {
                    let bytes = try await DirectoryBucket.offload { () throws(ObjectStoreError) in
                        try PartReader.read(path, offset: offset, count: length)
                    }
                    let etag = try await uploadPart(bytes, number: number, key: key, uploadId: uploadId)
                    return (number, etag)
                }
            }
            while next <= min(count, concurrency) { addPart() }
            while let (number, etag) = try await group.next() {
                etags.append((number, etag))
                if next <= count { addPart() }
            }
            return etags.sorted { $0.number < $1.number }
        }
    }

    /// Uploads one part; returns its ETag as S3 sent it (quoted), for the completion request.
    func uploadPart(_ bytes: ByteBuffer, number: Int, key: ObjectKey, uploadId: String) async throws -> String {
        let response = try await send(
            .PUT,
            path: objectPath(key),
            query: [("partNumber", String(number)), ("uploadId", uploadId)],
            body: bytes,
            key: key
        )
        try await check(response, key: key)
        try await drain(response)
        guard let etag = response.headers.first(name: "ETag"), !etag.isEmpty else {
            throw invalidResponse(response, "UploadPart \(number) answered without an ETag", key: key)
        }
        return etag
    }

    /// Completes an upload; returns the object's unquoted ETag.
    ///
    /// S3 may answer `200 OK` and still report an `<Error>` in the body (the request is long);
    /// that becomes a `server` error with status 500, which is transient.
    func completeMultipartUpload(
        _ key: ObjectKey,
        uploadId: String,
        parts: [(number: Int, etag: String)]
    ) async throws -> String {
        let response = try await send(
            .POST,
            path: objectPath(key),
            query: [("uploadId", uploadId)],
            headers: [("Content-Type", "application/xml")],
            body: ByteBuffer(string: S3XML.completeMultipartUpload(parts: parts)),
            key: key
        )
        try await check(response, key: key)
        let body = try await transport { try await response.body.collect(upTo: 1 << 20) }
        if let error = S3XML.error(body) {
            throw ObjectStoreError.server(
                status: 500,
                code: error.code,
                message: redacted(error.message),
                key: key.rawValue
            )
        }
        guard let etag = S3XML.completedETag(body) else {
            throw invalidResponse(response, "CompleteMultipartUpload answered without an ETag", key: key)
        }
        return etag
    }

    /// Aborts an upload so its parts are deleted; best effort, as it only runs after a failure.
    func abortMultipartUpload(_ key: ObjectKey, uploadId: String) async {
        guard let response = try? await send(.DELETE, path: objectPath(key), query: [("uploadId", uploadId)], key: key)
        else { return }
        try? await drain(response)
    }
}

/// Reads ranges of a local file into buffers, for uploads.
enum PartReader {
    /// The size of a regular file.
    static func size(of path: String) throws(ObjectStoreError) -> Int64 {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw .io(path: path, reason: "cannot read: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .io(path: path, reason: "not a regular file") }
        return Int64(status.st_size)
    }

    /// Reads `count` bytes at `offset`; throws when the file is shorter (it changed under us).
    static func read(_ path: String, offset: Int64, count: Int) throws(ObjectStoreError) -> ByteBuffer {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var failure: ObjectStoreError?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            var done = 0
            while done < count {
                let got = pread(descriptor, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if got < 0 {
                    if errno == EINTR { continue }
                    failure = .io(path: path, reason: "read: \(String(cString: strerror(errno)))")
                    return done
                }
                if got == 0 {
                    failure = .io(path: path, reason: "the file shrank while it was being uploaded")
                    return done
                }
                done += got
            }
            return done
        }
        if let failure { throw failure }
        return buffer
    }
}
