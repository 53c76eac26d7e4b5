import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A local directory used as a bucket: the embedded default (`file:<data-dir>/bucket`).
///
/// An object is the file at `<root>/<key>`. Writes go to a temporary file under
/// `<root>/.firn-tmp`, are flushed to disk (`fsync`), then renamed into place and the directory
/// flushed, so an object is either absent or complete, also after a power loss. A file handed
/// over (``put(handingOver:key:)``) is linked there instead of copied when it can be. Listing skips
/// names starting with `.`. The ETag is the size and modification time in nanoseconds, which
/// changes whenever the object is replaced.
public struct DirectoryBucket: ObjectStore {
    /// The bucket's root directory.
    public let root: String

    public var location: BucketLocation { .directory(path: root) }

    /// Opens (and creates when missing) a directory bucket.
    ///
    /// - Throws: ``ObjectStoreError`` when the directory cannot be created.
    public init(root: String) throws(ObjectStoreError) {
        self.root = root
        do {
            try FileManager.default.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
        } catch {
            throw .io(path: root, reason: "cannot create the bucket directory: \(error.localizedDescription)")
        }
    }

    var temporaryDirectory: String { (root as NSString).appendingPathComponent(".firn-tmp") }

    /// The local file holding an object (whether or not it exists).
    public func path(of key: ObjectKey) -> String { (root as NSString).appendingPathComponent(key.rawValue) }

    public func put(file path: String, key: ObjectKey) async throws -> ObjectInfo {
        try await Self.offload { () throws(ObjectStoreError) in
            try store(key) { (output) throws(ObjectStoreError) in try LocalFile.copy(from: path, to: output) }
        }
    }

    /// Links the handed-over file into place instead of copying its bytes, when it is on the
    /// bucket's file system and may be linked; copies it otherwise. The object is then that
    /// file (its permissions included), flushed to disk, with its modification time set to now
    /// so that its ETag is new, as a copy's would be.
    public func put(handingOver path: String, key: ObjectKey) async throws -> ObjectInfo {
        try await Self.offload { () throws(ObjectStoreError) in
            if let temporary = try linkTemporary(to: path) { return try place(temporary, key) }
            return try store(key) { (output) throws(ObjectStoreError) in try LocalFile.copy(from: path, to: output) }
        }
    }

    public func put(_ bytes: ByteBuffer, key: ObjectKey) async throws -> ObjectInfo {
        try await Self.offload { () throws(ObjectStoreError) in
            try store(key) { (output) throws(ObjectStoreError) in
                try bytes.withUnsafeReadableBytes { (raw) throws(ObjectStoreError) in
                    try LocalFile.writeAll(raw, to: output)
                }
            }
        }
    }

    public func get(_ key: ObjectKey) async throws -> ByteBuffer {
        try await Self.offload { () throws(ObjectStoreError) in
            guard let data = FileManager.default.contents(atPath: path(of: key)) else {
                throw ObjectStoreError.notFound(key: key.rawValue)
            }
            return ByteBuffer(bytes: data)
        }
    }

    public func download(_ key: ObjectKey, to destination: String) async throws -> ObjectInfo {
        try await Self.offload { () throws(ObjectStoreError) in
            guard let info = try info(key) else { throw ObjectStoreError.notFound(key: key.rawValue) }
            let output = try LocalFile.create(destination)
            defer { close(output.descriptor) }
            try LocalFile.copy(from: path(of: key), to: output)
            return info
        }
    }

    public func head(_ key: ObjectKey) async throws -> ObjectInfo? {
        try await Self.offload { () throws(ObjectStoreError) in try info(key) }
    }

    public func list(after: ObjectKey?) async throws -> [ObjectInfo] {
        try await Self.offload { () throws(ObjectStoreError) in
            var found: [ObjectInfo] = []
            try walk(relative: "", into: &found, after: after)
            found.sort { $0.key < $1.key }
            return found
        }
    }

    public func delete(_ key: ObjectKey) async throws {
        try await Self.offload { () throws(ObjectStoreError) in
            if unlink(path(of: key)) != 0 && errno != ENOENT {
                throw ObjectStoreError.io(path: path(of: key), reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Describes the object under `key` from the file system, or `nil` when missing.
    func info(_ key: ObjectKey) throws(ObjectStoreError) -> ObjectInfo? {
        var status = stat()
        guard stat(path(of: key), &status) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw .io(path: path(of: key), reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        return ObjectInfo(key: key, size: Int64(status.st_size), etag: Self.etag(status))
    }

    static func etag(_ status: stat) -> String {
        #if canImport(Darwin)
        let time = status.st_mtimespec
        #else
        let time = status.st_mtim
        #endif
        let nanoseconds = UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
        return String(status.st_size, radix: 16) + "-" + String(nanoseconds, radix: 16)
    }

    func walk(relative: String, into found: inout [ObjectInfo], after: ObjectKey?) throws(ObjectStoreError) {
        let directory = relative.isEmpty ? root : (root as NSString).appendingPathComponent(relative)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            let reason = "cannot list: \(error.localizedDescription)"
            // The root itself: the whole bucket; a folder below it: that folder.
            if relative.isEmpty { throw .unavailable(bucket: root, reason: "\(directory): \(reason)") }
            throw .io(path: directory, reason: reason)
        }
        for name in names where !name.hasPrefix(".") {
            let childRelative = relative.isEmpty ? name : relative + "/" + name
            var status = stat()
            guard lstat((root as NSString).appendingPathComponent(childRelative), &status) == 0 else { continue }
            if (status.st_mode & S_IFMT) == S_IFDIR {
                try walk(relative: childRelative, into: &found, after: after)
            } else if (status.st_mode & S_IFMT) == S_IFREG, let key = try? ObjectKey(childRelative) {
                if let after, !(after < key) { continue }
                found.append(ObjectInfo(key: key, size: Int64(status.st_size), etag: Self.etag(status)))
            }
        }
    }

    /// Writes an object through a temporary file: `write` fills it, then it is flushed and renamed into place.
    ///
    /// Errors of the bucket as a whole (its directory missing or not a directory, a full,
    /// read-only or failing file system, permission denied) throw
    /// ``ObjectStoreError/unavailable(bucket:reason:)``; errors of this key (a file where one of
    /// its folders must go, a name too long) throw ``ObjectStoreError/io(path:reason:)``.
    func store(
        _ key: ObjectKey,
        write: (LocalFile.Output) throws(ObjectStoreError) -> Void
    ) throws(ObjectStoreError) -> ObjectInfo {
        let temporary = (temporaryDirectory as NSString).appendingPathComponent(UUID().uuidString)
        let output = try createTemporary(temporary)
        do throws(ObjectStoreError) {
            defer { close(output.descriptor) }
            try write(output)
            guard fsync(output.descriptor) == 0 else {
                throw LocalFile.failure(temporary, "fsync", errno: errno, bucket: root)
            }
        } catch {
            unlink(temporary)
            throw error
        }
        return try place(temporary, key)
    }

    /// A second name for `source` in the temporary folder, its modification time set to now and
    /// its bytes flushed to disk; `nil` when it cannot be linked there (another file system, one
    /// without hard links, a file the kernel's `protected_hardlinks` keeps from this user) or
    /// its time cannot be set, so that the caller copies it instead.
    func linkTemporary(to source: String) throws(ObjectStoreError) -> String? {
        let temporary = (temporaryDirectory as NSString).appendingPathComponent(UUID().uuidString)
        guard link(source, temporary) == 0 else { return nil }
        let descriptor = open(temporary, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            unlink(temporary)
            return nil
        }
        defer { close(descriptor) }
        guard futimens(descriptor, nil) == 0 else {
            unlink(temporary)
            return nil
        }
        guard fsync(descriptor) == 0 else {
            let error = LocalFile.failure(temporary, "fsync", errno: errno, bucket: root)
            unlink(temporary)
            throw error
        }
        return temporary
    }

    /// Renames a complete, flushed temporary file into `key`'s place and flushes the directory.
    func place(_ temporary: String, _ key: ObjectKey) throws(ObjectStoreError) -> ObjectInfo {
        let destination = path(of: key)
        let directory = (destination as NSString).deletingLastPathComponent
        do throws(ObjectStoreError) {
            try makeDirectories(directory)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, destination) == 0 else {
            let error = LocalFile.failure(destination, "rename", errno: errno, bucket: root)
            unlink(temporary)
            throw error
        }
        // Renaming a link onto another name of the same file (a handed-over file put again)
        // changes nothing and leaves the temporary name behind.
        unlink(temporary)
        LocalFile.syncDirectory(directory)
        guard let info = try info(key) else { throw .io(path: destination, reason: "vanished after writing") }
        return info
    }

    /// Creates the temporary file, re-creating the temporary folder when only it is missing (a
    /// clean-up removed it, or the bucket directory was restored empty). A bucket directory
    /// that is missing or not a directory is the whole bucket's error, not re-created here: it
    /// may be a volume not mounted yet.
    func createTemporary(_ temporary: String) throws(ObjectStoreError) -> LocalFile.Output {
        do {
            return try LocalFile.create(temporary, bucket: root)
        } catch {
            guard case .io = error, !FileManager.default.fileExists(atPath: temporaryDirectory) else { throw error }
            var status = stat()
            guard stat(root, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
                throw .unavailable(bucket: root, reason: "the bucket directory is missing or not a directory")
            }
            if mkdir(temporaryDirectory, 0o755) != 0 && errno != EEXIST {
                throw LocalFile.failure(temporaryDirectory, "cannot create", errno: errno, bucket: root)
            }
            return try LocalFile.create(temporary, bucket: root)
        }
    }

    /// Creates `directory` (inside the bucket) and its missing parents. A file where a folder
    /// must go is this key's error; a full, read-only or denied file system the bucket's.
    func makeDirectories(_ directory: String) throws(ObjectStoreError) {
        var status = stat()
        if stat(directory, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFDIR else {
                throw .io(path: directory, reason: "cannot create a folder: a file is in the way")
            }
            return
        }
        guard errno == ENOENT || errno == ENOTDIR else {
            throw LocalFile.failure(directory, "cannot create", errno: errno, bucket: root)
        }
        let parent = (directory as NSString).deletingLastPathComponent
        if parent.count > root.count { try makeDirectories(parent) }
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw LocalFile.failure(directory, "cannot create", errno: errno, bucket: root)
        }
    }

    /// Runs blocking file-system work off the caller's executor.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () throws(ObjectStoreError) -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do throws(ObjectStoreError) {
                    continuation.resume(returning: try work())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
