/// A file opened for loading, fixed at the size it had when opened.
///
/// Everything read through one snapshot comes from the same bytes: its checksum
/// (``forEachBlock(_:)``) and its rows (``RecordFileReader/init(snapshot:entity:load:defaultEventTime:format:configuration:)``)
/// stop at ``sizeBytes``, so rows appended while a file loads are neither read nor counted in
/// its checksum. ``change()`` tells whether the file has changed since it was opened, so a
/// loader can refuse to commit rows from a file that is still being written.
///
/// A snapshot may be shared between threads: reads are positional (`pread`), nothing moves.
public final class FileSnapshot: Sendable {
    let file: ByteFile

    /// Opens `path` and takes its size.
    ///
    /// - Throws: ``FileReadError/cannotOpen(path:reason:)``.
    public init(path: String) throws(FileReadError) {
        file = try ByteFile(path: path)
    }

    /// The path it was opened by.
    public var path: String { file.path }

    /// The file's size when it was opened: every read ends there.
    public var sizeBytes: Int64 { file.size }

    /// Calls `body` with the snapshot's bytes in order, in blocks of at most 1 MiB, with each
    /// block's offset.
    ///
    /// - Throws: ``FileReadError/cannotRead(path:reason:)``.
    public func forEachBlock(_ body: (_ offset: Int64, _ bytes: UnsafeRawBufferPointer) -> Void) throws(FileReadError) {
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1 << 20)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while true {
            let count = try file.readBytes(at: offset, into: buffer)
            if count == 0 { return }
            body(offset, UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[0..<count])))
            offset += Int64(count)
        }
    }

    /// Why the file on disk no longer holds the snapshot's bytes (it grew, shrank or was written
    /// since it was opened), or `nil` when its size and modification time are as they were.
    public func change() -> String? {
        file.change()
    }
}
