import FirnCore
import FirnWarehouse
import GRDBSQLite

/// Memory that bound text points into until its statement has run, so that SQLite need not
/// copy each value (`SQLITE_STATIC` instead of `SQLITE_TRANSIENT`: no allocation and free per
/// bound text, several per row in a profile of the batch writes).
///
/// Text is copied in once, into chunks that never move; ``reset()`` makes the memory reusable,
/// and must only be called once no statement will run with bindings into it (see
/// ``FastStatement/runClearingBindings()``).
///
/// The hot path (``allocate(_:)``) is a pointer bump; the properties opt out of Swift's dynamic
/// exclusivity checks, which were a third of its cost in a profile (the arena is used by one
/// writer at a time and never re-entered).
final class BindArena {
    /// The size of a chunk: 256 KiB (a 64-row statement needs about 12 KiB).
    static let chunkSize = 256 << 10

    @exclusivity(unchecked) private var chunks: [UnsafeMutableRawPointer] = []
    @exclusivity(unchecked) private var chunk = 0
    /// The next free byte of the current chunk, and the end of that chunk.
    @exclusivity(unchecked) private var next: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var end: UnsafeMutableRawPointer

    init() {
        let first = UnsafeMutableRawPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        chunks.append(first)
        next = first
        end = first + Self.chunkSize
    }

    deinit {
        for chunk in chunks { chunk.deallocate() }
    }

    /// Room for `count` bytes that stays valid until ``reset()``.
    @inline(__always)
    func allocate(_ count: Int) -> UnsafeMutableRawPointer {
        if count > end - next { moveToNextChunk(for: count) }
        let pointer = next
        next += count
        return pointer
    }

    /// Continues in the next chunk (allocating it the first time).
    @inline(never)
    private func moveToNextChunk(for count: Int) {
        precondition(count <= Self.chunkSize, "bound value of \(count) bytes exceeds the arena chunk")
        chunk += 1
        if chunk == chunks.count { chunks.append(.allocate(byteCount: Self.chunkSize, alignment: 16)) }
        next = chunks[chunk]
        end = next + Self.chunkSize
    }

    /// A copy of `text` that stays valid until ``reset()``.
    @inline(__always)
    func keep(_ text: String) -> UnsafeRawBufferPointer {
        // Native strings lend their bytes without a copy of the string (`withUTF8` needs a
        // mutable one: a retain and a release per value).
        if let kept = text.utf8.withContiguousStorageIfAvailable({ keep(bytes: UnsafeRawBufferPointer($0)) }) {
            return kept
        }
        var text = text
        return text.withUTF8 { keep(bytes: UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    private func keep(bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let copy = allocate(max(bytes.count, 1))
        if let base = bytes.baseAddress { copy.copyMemory(from: base, byteCount: bytes.count) }
        return UnsafeRawBufferPointer(start: copy, count: bytes.count)
    }

    /// Forgets everything copied in.
    func reset() {
        chunk = 0
        next = chunks[0]
        end = next + Self.chunkSize
    }
}

extension FastStatement {
    /// Binds a value, its text kept in `arena` (values over the arena's chunk are copied by SQLite).
    @inline(__always)
    func bind(_ value: Value, at index: Int32, arena: BindArena) {
        switch value {
        case .null: sqlite3_bind_null(handle, index)
        case .integer(let number): sqlite3_bind_int64(handle, index, number)
        case .text(let text): bind(text, at: index, arena: arena)
        }
    }

    /// Binds text kept in `arena`.
    @inline(__always)
    func bind(_ text: String, at index: Int32, arena: BindArena) {
        guard text.utf8.count <= BindArena.chunkSize / 4 else {
            bind(text, at: index)
            return
        }
        bind(kept: arena.keep(text), at: index)
    }

    /// Binds text already in an arena (or other memory that outlives the statement's run).
    @inline(__always)
    func bind(kept text: UnsafeRawBufferPointer, at index: Int32) {
        _ = sqlite3_bind_text(
            handle,
            index,
            text.baseAddress?.assumingMemoryBound(to: CChar.self),
            Int32(text.count),
            nil
        )
    }

    /// Binds a timestamp in its stored text form, written into `arena`.
    @inline(__always)
    func bind(_ time: Timestamp, at index: Int32, arena: BindArena) {
        let room = arena.allocate(Timestamp.textLength)
        let buffer = UnsafeMutableBufferPointer(
            start: room.assumingMemoryBound(to: UInt8.self),
            count: Timestamp.textLength
        )
        let count = time.write(into: buffer)
        _ = sqlite3_bind_text(handle, index, room.assumingMemoryBound(to: CChar.self), Int32(count), nil)
    }

    /// Binds a key's values from parameter `start` on; returns the next parameter index.
    @inline(__always)
    @discardableResult
    func bind(_ key: Key, from start: Int32, arena: BindArena) -> Int32 {
        if let integer = key.integer {
            sqlite3_bind_int64(handle, start, integer)
            return start + 1
        }
        let values = key.values
        for (position, value) in values.enumerated() { bind(value, at: start + Int32(position), arena: arena) }
        return start + Int32(values.count)
    }

    /// Binds exactly `count` values from parameter `start` on (NULL for any `values` lacks);
    /// returns the next parameter index.
    @inline(__always)
    @discardableResult
    func bind(_ values: [Value], from start: Int32, count: Int, arena: BindArena) -> Int32 {
        values.withUnsafeBufferPointer { buffer in
            for position in 0..<count {
                let index = start + Int32(position)
                if position < buffer.count {
                    bind(buffer[position], at: index, arena: arena)
                } else {
                    sqlite3_bind_null(handle, index)
                }
            }
        }
        return start + Int32(count)
    }

    /// Runs a statement that returns no rows, then resets it and clears its bindings (so that
    /// none points into an arena that is reused).
    func runClearingBindings() throws {
        defer { sqlite3_clear_bindings(handle) }
        try run()
    }
}
