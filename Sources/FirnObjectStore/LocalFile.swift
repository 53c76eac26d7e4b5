import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file helpers shared by the directory bucket and downloads: copy, write all, fsync.
enum LocalFile {
    /// An open file being written.
    struct Output {
        var descriptor: Int32
        var path: String
        /// The bucket the file is in (a ``DirectoryBucket``'s root), so that errors of the whole
        /// file system are reported as ``ObjectStoreError/unavailable(bucket:reason:)``; `nil`
        /// for a download.
        var bucket: String? = nil
    }

    static func create(_ path: String, bucket: String? = nil) throws(ObjectStoreError) -> Output {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure(path, "cannot create", errno: errno, bucket: bucket) }
        return Output(descriptor: descriptor, path: path, bucket: bucket)
    }

    static func writeAll(_ bytes: UnsafeRawBufferPointer, to output: Output) throws(ObjectStoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(output.descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw failure(output.path, "write", errno: errno, bucket: output.bucket)
            }
            offset += written
        }
    }

    /// Errors of a whole file system rather than of one file: full, over quota, read-only,
    /// denied, or failing.
    static func isFileSystemWide(_ code: Int32) -> Bool {
        [ENOSPC, EDQUOT, EROFS, EACCES, EPERM, EIO].contains(code)
    }

    /// The error for a failed call on `path`: ``ObjectStoreError/unavailable(bucket:reason:)``
    /// when the path is in a bucket and the error is the file system's
    /// (``isFileSystemWide(_:)``), ``ObjectStoreError/io(path:reason:)`` otherwise.
    static func failure(_ path: String, _ operation: String, errno code: Int32, bucket: String?) -> ObjectStoreError {
        let reason = "\(operation): \(String(cString: strerror(code)))"
        if let bucket, isFileSystemWide(code) { return .unavailable(bucket: bucket, reason: "\(path): \(reason)") }
        return .io(path: path, reason: reason)
    }

    /// Copies the file at `source` into `output`, 1 MiB at a time.
    static func copy(from source: String, to output: Output) throws(ObjectStoreError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .io(path: source, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(input, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(path: source, reason: "read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return }
            try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), to: output)
        }
    }

    /// Flushes a directory's entries (a rename into it) to disk; best effort.
    static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
