import Foundation
import GRDBSQLite

/// A SQLite VFS named `firn` that forwards every call to the platform's default VFS (`unix`),
/// except that writes to write-ahead logs are gathered in memory and written in large pieces.
///
/// SQLite appends each WAL frame with two write calls (a 24-byte header, then the page), so a
/// commit that dirties 10,000 pages made 20,000 `pwrite` calls, two thirds of the commit's time
/// in a profile of `firn bench load`. Here consecutive writes are copied into a 4 MiB buffer
/// and written with one call when it is full, and always before SQLite can need them on disk:
/// before any read, sync, truncate, size query or file control of the log, when it is closed,
/// and when the database's shared-memory barrier runs (SQLite publishes a commit to other
/// connections between two barrier-separated header writes, so the frames are written before
/// any reader can look for them). What reaches the file, and in what order, is exactly what
/// SQLite wrote; only the number of system calls changes. Durability is SQLite's: with
/// `synchronous=FULL` each commit syncs the log, and the buffer is written first.
///
/// Databases use it through a `file:` URI with `vfs=firn` (see ``uri(forPath:)``).
public enum WALWriteCoalescing {
    /// The VFS name.
    public static let name = "firn"

    /// Registers the VFS (once); `false` when SQLite has no default VFS to wrap.
    public static var isAvailable: Bool { registered }

    private static let registered: Bool = {
        guard let base = sqlite3_vfs_find(nil) else { return false }
        baseVFS = base
        let methods = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
        methods.initialize(to: forwardingMethods())
        ioMethods = UnsafePointer(methods)
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.initialize(to: base.pointee)
        vfs.pointee.pNext = nil
        vfs.pointee.zName = UnsafePointer(strdup(name))
        vfs.pointee.szOsFile = Int32(headerSize) + base.pointee.szOsFile
        vfs.pointee.xOpen = openFile
        return sqlite3_vfs_register(vfs, 0) == SQLITE_OK
    }()

    /// A `file:` URI that opens `path` through this VFS, or `path` itself when it is not available.
    public static func uri(forPath path: String) -> String {
        guard isAvailable else { return path }
        var escaped = ""
        for character in path.unicodeScalars {
            switch character {
            case "%": escaped += "%25"
            case "?": escaped += "%3f"
            case "#": escaped += "%23"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return "file:\(escaped)?vfs=\(name)"
    }
}

// MARK: - File objects

/// The start of each file object this VFS opens; the default VFS's file object follows.
private struct FileHeader {
    var base: sqlite3_file
    var state: Unmanaged<FileState>?
}

/// Room for the header, keeping the inner file object 16-byte aligned.
private let headerSize = (MemoryLayout<FileHeader>.size + 15) & ~15

nonisolated(unsafe) private var baseVFS: UnsafeMutablePointer<sqlite3_vfs>!
nonisolated(unsafe) private var ioMethods: UnsafePointer<sqlite3_io_methods>!

/// What the VFS keeps for a database or log file: its database's path, and the log's buffer.
private final class FileState {
    let databasePath: String
    let buffer: WALBuffer?

    init(databasePath: String, buffer: WALBuffer?) {
        self.databasePath = databasePath
        self.buffer = buffer
    }
}

@inline(__always)
private func header(_ file: UnsafeMutablePointer<sqlite3_file>) -> UnsafeMutablePointer<FileHeader> {
    UnsafeMutableRawPointer(file).assumingMemoryBound(to: FileHeader.self)
}

@inline(__always)
private func inner(_ file: UnsafeMutablePointer<sqlite3_file>) -> UnsafeMutablePointer<sqlite3_file> {
    (UnsafeMutableRawPointer(file) + headerSize).assumingMemoryBound(to: sqlite3_file.self)
}

@inline(__always)
private func methods(_ file: UnsafeMutablePointer<sqlite3_file>) -> sqlite3_io_methods {
    inner(file).pointee.pMethods.pointee
}

/// Writes out `file`'s buffered log writes, if it has any, then makes `call`; a failed
/// write-out is returned instead.
@inline(__always)
private func writingOut(_ file: UnsafeMutablePointer<sqlite3_file>, then call: () -> Int32) -> Int32 {
    if let buffer = buffer(file) {
        let code = buffer.flush()
        guard code == SQLITE_OK else { return code }
    }
    return call()
}

@inline(__always)
private func buffer(_ file: UnsafeMutablePointer<sqlite3_file>) -> WALBuffer? {
    header(file).pointee.state?.takeUnretainedValue().buffer
}

/// Consecutive writes to one open log, not yet written.
///
/// `@unchecked Sendable`: the bytes are guarded by `lock` (the writer appends; any connection's
/// barrier may write them out).
private final class WALBuffer: @unchecked Sendable {
    static let capacity = 4 << 20

    let file: UnsafeMutablePointer<sqlite3_file>
    private let lock = NSLock()
    private let storage = UnsafeMutableRawPointer.allocate(byteCount: WALBuffer.capacity, alignment: 64)
    private var start: Int64 = 0
    private var count = 0

    init(file: UnsafeMutablePointer<sqlite3_file>) {
        self.file = file
    }

    deinit {
        storage.deallocate()
    }

    func write(_ data: UnsafeRawPointer, _ amount: Int32, at offset: Int64) -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        let size = Int(amount)
        if count > 0, offset == start + Int64(count), count + size <= Self.capacity {
            (storage + count).copyMemory(from: data, byteCount: size)
            count += size
            return SQLITE_OK
        }
        let code = flushLocked()
        guard code == SQLITE_OK else { return code }
        guard size <= Self.capacity else { return file.pointee.pMethods.pointee.xWrite(file, data, amount, offset) }
        storage.copyMemory(from: data, byteCount: size)
        start = offset
        count = size
        return SQLITE_OK
    }

    func flush() -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        return flushLocked()
    }

    private func flushLocked() -> Int32 {
        guard count > 0 else { return SQLITE_OK }
        defer { count = 0 }
        // The unix VFS writes at most 128 KiB - 1 bytes per call (and fails a call whose
        // length is a multiple of 128 KiB), so the buffer goes in pieces below that.
        var written = 0
        while written < count {
            let piece = min(Self.piece, count - written)
            let code = file.pointee.pMethods.pointee.xWrite(
                file,
                storage + written,
                Int32(piece),
                start + Int64(written)
            )
            guard code == SQLITE_OK else { return code }
            written += piece
        }
        return SQLITE_OK
    }

    /// The most bytes handed to the unix VFS in one write: 124 KiB.
    static let piece = 124 << 10
}

/// The open logs' buffers, by database path, for the database files' barriers.
private enum OpenLogs {
    nonisolated(unsafe) static var byDatabase: [String: [WALBuffer]] = [:]
    static let lock = NSLock()

    static func add(_ buffer: WALBuffer, for path: String) {
        lock.withLock { byDatabase[path, default: []].append(buffer) }
    }

    static func remove(_ buffer: WALBuffer, for path: String) {
        lock.withLock {
            byDatabase[path]?.removeAll { $0 === buffer }
            if byDatabase[path]?.isEmpty == true { byDatabase[path] = nil }
        }
    }

    static func flush(database path: String) {
        let buffers = lock.withLock { byDatabase[path] ?? [] }
        for buffer in buffers { _ = buffer.flush() }
    }
}

// MARK: - The VFS's methods

private let openFile:
    @convention(c) (
        UnsafeMutablePointer<sqlite3_vfs>?, sqlite3_filename?, UnsafeMutablePointer<sqlite3_file>?, Int32,
        UnsafeMutablePointer<Int32>?
    ) -> Int32 = { _, name, file, flags, outFlags in
        guard let file else { return SQLITE_MISUSE }
        let head = header(file)
        head.initialize(to: FileHeader(base: sqlite3_file(pMethods: nil), state: nil))
        let innerFile = inner(file)
        innerFile.pointee.pMethods = nil
        let code = baseVFS.pointee.xOpen(baseVFS, name, innerFile, flags, outFlags)
        // SQLite closes a file whose methods are set, even after a failed open.
        guard innerFile.pointee.pMethods != nil else { return code }
        head.pointee.base.pMethods = ioMethods
        guard code == SQLITE_OK, let name else { return code }
        let path = String(cString: name)
        if flags & SQLITE_OPEN_WAL != 0, path.hasSuffix("-wal") {
            let database = String(path.dropLast(4))
            let buffer = WALBuffer(file: innerFile)
            OpenLogs.add(buffer, for: database)
            head.pointee.state = .passRetained(FileState(databasePath: database, buffer: buffer))
        } else if flags & SQLITE_OPEN_MAIN_DB != 0 {
            head.pointee.state = .passRetained(FileState(databasePath: path, buffer: nil))
        }
        return code
    }

/// The file methods: each writes out the log's buffer first where SQLite may rely on the file.
private func forwardingMethods() -> sqlite3_io_methods {
    var m = sqlite3_io_methods()
    m.iVersion = 3
    m.xClose = { file in
        guard let file else { return SQLITE_MISUSE }
        let head = header(file)
        var code = SQLITE_OK
        if let state = head.pointee.state?.takeRetainedValue() {
            head.pointee.state = nil
            if let buffer = state.buffer {
                code = buffer.flush()
                OpenLogs.remove(buffer, for: state.databasePath)
            }
        }
        let closed = methods(file).xClose(inner(file))
        head.pointee.base.pMethods = nil
        return code == SQLITE_OK ? closed : code
    }
    m.xRead = { file, data, amount, offset in
        guard let file else { return SQLITE_MISUSE }
        return writingOut(file) { methods(file).xRead(inner(file), data, amount, offset) }
    }
    m.xWrite = { file, data, amount, offset in
        guard let file, let data else { return SQLITE_MISUSE }
        if let buffer = buffer(file) { return buffer.write(data, amount, at: offset) }
        return methods(file).xWrite(inner(file), data, amount, offset)
    }
    m.xTruncate = { file, size in
        guard let file else { return SQLITE_MISUSE }
        return writingOut(file) { methods(file).xTruncate(inner(file), size) }
    }
    m.xSync = { file, flags in
        guard let file else { return SQLITE_MISUSE }
        return writingOut(file) { methods(file).xSync(inner(file), flags) }
    }
    m.xFileSize = { file, size in
        guard let file else { return SQLITE_MISUSE }
        return writingOut(file) { methods(file).xFileSize(inner(file), size) }
    }
    m.xLock = { file, level in
        guard let file else { return SQLITE_MISUSE }
        return methods(file).xLock(inner(file), level)
    }
    m.xUnlock = { file, level in
        guard let file else { return SQLITE_MISUSE }
        return methods(file).xUnlock(inner(file), level)
    }
    m.xCheckReservedLock = { file, result in
        guard let file else { return SQLITE_MISUSE }
        return methods(file).xCheckReservedLock(inner(file), result)
    }
    m.xFileControl = { file, operation, argument in
        guard let file else { return SQLITE_MISUSE }
        return writingOut(file) { methods(file).xFileControl(inner(file), operation, argument) }
    }
    m.xSectorSize = { file in
        guard let file else { return 4096 }
        return methods(file).xSectorSize(inner(file))
    }
    m.xDeviceCharacteristics = { file in
        guard let file else { return 0 }
        return methods(file).xDeviceCharacteristics(inner(file))
    }
    m.xShmMap = { file, page, size, extend, address in
        guard let file, let map = methods(file).xShmMap else { return SQLITE_IOERR }
        return map(inner(file), page, size, extend, address)
    }
    m.xShmLock = { file, offset, count, flags in
        guard let file, let lock = methods(file).xShmLock else { return SQLITE_IOERR }
        return lock(inner(file), offset, count, flags)
    }
    m.xShmBarrier = { file in
        guard let file else { return }
        // A commit is published between two barrier-separated header writes: the frames go first.
        if let state = header(file).pointee.state?.takeUnretainedValue(), state.buffer == nil {
            OpenLogs.flush(database: state.databasePath)
        }
        methods(file).xShmBarrier?(inner(file))
    }
    m.xShmUnmap = { file, delete in
        guard let file, let unmap = methods(file).xShmUnmap else { return SQLITE_OK }
        return unmap(inner(file), delete)
    }
    m.xFetch = { file, offset, amount, pointer in
        guard let file else { return SQLITE_MISUSE }
        guard methods(file).iVersion >= 3, let fetch = methods(file).xFetch else {
            pointer?.pointee = nil
            return SQLITE_OK
        }
        return fetch(inner(file), offset, amount, pointer)
    }
    m.xUnfetch = { file, offset, pointer in
        guard let file else { return SQLITE_MISUSE }
        guard methods(file).iVersion >= 3, let unfetch = methods(file).xUnfetch else { return SQLITE_OK }
        return unfetch(inner(file), offset, pointer)
    }
    return m
}
