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
    }

    static func create(_ path: String) throws(ObjectStoreError) -> Output {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .io(path: path, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        return Output(descriptor: descriptor, path: path)
    }

    static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String) throws(ObjectStoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, reason: "write: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
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
            try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), to: output.descriptor, path: output.path)
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
