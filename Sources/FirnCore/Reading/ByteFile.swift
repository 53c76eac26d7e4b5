#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only file read with POSIX `pread`, closed when released, fixed at the size it had when
/// opened: bytes appended later are never read, so everything read from one `ByteFile` (a
/// checksum, the rows) comes from the same bytes.
///
/// `@unchecked Sendable`: every stored property is a constant, and `pread` and `fstat` on one
/// descriptor may be called from several threads at once.
final class ByteFile: @unchecked Sendable {
    /// The path, for errors.
    let path: String
    /// The file's size when it was opened: reads end there.
    let size: Int64
    private let modified: timespec
    private let descriptor: Int32

    /// Opens `path` for reading and takes its size.
    init(path: String) throws(FileReadError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: ByteFile.errorText()) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let reason = ByteFile.errorText()
            close(descriptor)
            throw .cannotOpen(path: path, reason: reason)
        }
        self.path = path
        self.descriptor = descriptor
        size = Int64(status.st_size)
        modified = ByteFile.modificationTime(status)
    }

    deinit {
        close(descriptor)
    }

    /// Why the file no longer holds the bytes it held when opened (it grew, shrank or was
    /// written), or `nil` while its size and modification time are unchanged.
    ///
    /// A file replaced by a rename is not changed: the open file still holds its bytes.
    func change() -> String? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return "cannot check it: \(ByteFile.errorText())" }
        let now = Int64(status.st_size)
        if now != size { return "it was \(size) bytes when the load began and is \(now) bytes now" }
        let time = ByteFile.modificationTime(status)
        if time.tv_sec != modified.tv_sec || time.tv_nsec != modified.tv_nsec {
            return "it was written to after the load began"
        }
        return nil
    }

    private static func modificationTime(_ status: stat) -> timespec {
        #if canImport(Darwin)
        status.st_mtimespec
        #else
        status.st_mtim
        #endif
    }

    /// How much of a file's start is checked for NUL bytes to tell binary files from text: 64 KiB.
    static let binaryProbeBytes: Int64 = 1 << 16

    /// Reads up to `buffer.count` bytes at `offset`, never past ``size``; 0 at the end of the file.
    ///
    /// - Throws: ``FileReadError/cannotRead(path:reason:)``, or ``FileReadError/binary(path:offset:)``
    ///   when a NUL byte lies in the first ``binaryProbeBytes`` of the file (a binary file). A NUL
    ///   further on is left to the row it is in, which is rejected, so one corrupt row cannot fail a
    ///   file whose earlier chunks are already loaded.
    func read(at offset: Int64, into buffer: UnsafeMutableBufferPointer<UInt8>) throws(FileReadError) -> Int {
        let count = try readBytes(at: offset, into: buffer)
        if count > 0, offset < ByteFile.binaryProbeBytes, let base = buffer.baseAddress,
            let nul = memchr(base, 0, min(count, Int(ByteFile.binaryProbeBytes - offset)))
        {
            throw .binary(path: path, offset: offset + Int64(UnsafeRawPointer(nul) - UnsafeRawPointer(base)))
        }
        return count
    }

    /// Reads up to `buffer.count` bytes at `offset`, never past ``size``, as they are; 0 at the end.
    ///
    /// - Throws: ``FileReadError/cannotRead(path:reason:)``.
    func readBytes(at offset: Int64, into buffer: UnsafeMutableBufferPointer<UInt8>) throws(FileReadError) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty, offset < size else { return 0 }
        let wanted = Int(min(Int64(buffer.count), size - offset))
        while true {
            let count = pread(descriptor, base, wanted, off_t(offset))
            if count < 0 {
                if errno == EINTR { continue }
                throw .cannotRead(path: path, reason: ByteFile.errorText())
            }
            return count
        }
    }

    /// The file offset of the first `byte` at or after `offset`, or `nil` when there is none.
    func firstOffset(of byte: UInt8, from offset: Int64) throws(FileReadError) -> Int64? {
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1 << 16)
        defer { buffer.deallocate() }
        var position = offset
        while true {
            let count = try read(at: position, into: buffer)
            if count == 0 { return nil }
            if let found = memchr(buffer.baseAddress!, Int32(byte), count) {
                return position + Int64(UnsafeRawPointer(found) - UnsafeRawPointer(buffer.baseAddress!))
            }
            position += Int64(count)
        }
    }

    /// The length of a UTF-8 byte order mark at the start of `bytes` (3), or 0.
    static func byteOrderMarkLength(_ bytes: UnsafeMutableBufferPointer<UInt8>, count: Int) -> Int {
        count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }

    private static func errorText() -> String {
        String(cString: strerror(errno))
    }
}

extension [UInt8] {
    /// The bytes as text for a rejected row: invalid UTF-8 replaced with U+FFFD and, when only a
    /// prefix of a longer row was kept, a note saying how long the row was.
    func rejectedText(fullLength: Int) -> String {
        let text = String(decoding: self, as: UTF8.self)
        guard fullLength > count else { return text }
        return text + "… [row is \(fullLength) bytes; the first \(count) are kept]"
    }
}
