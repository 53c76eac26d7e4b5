import FirnCore
import Foundation

/// Reads a file's chunks in order, from the third on by a thread of its own one chunk ahead of
/// the caller, so that parsing the next chunk overlaps applying the current one.
///
/// The first two chunks are read on the caller's thread, so a file of one or two chunks (every
/// file the pipe gets from the generator) starts no thread. From then on the thread reads the
/// chunk after the one taken, and waits: at most two chunks are in memory besides the one being
/// applied. A read error is handed over in place of its chunk, so the caller meets it exactly
/// where reading on its own thread would have. ``stop()`` ends the thread early (the caller gave
/// up); the file closes when both sides have let go.
///
/// `@unchecked Sendable`: the reader is used by one thread at a time: the caller's until the
/// thread starts, then the thread's until it has handed over the end of the file or an error
/// (``ignoredColumns`` and ``warnings`` are read after that, under the lock). The hand-over slot and flags are
/// only touched under `condition`'s lock, and `startedAfter` only by the caller.
final class ChunkReadAhead: @unchecked Sendable {
    private final class ReaderBox {
        var reader: RecordFileReader
        init(_ reader: consuming RecordFileReader) { self.reader = reader }
    }

    private enum Slot {
        case empty
        case chunk(RecordChunk)
        case end
        case failed(FileReadError)
    }

    private let box: ReaderBox
    private let condition = NSCondition()
    private var slot = Slot.empty
    private var isStopping = false
    private var isFinished = false

    /// Chunks read on the caller's thread before the reading thread starts.
    private static let chunksReadInPlace = 2
    private var chunksTaken = 0
    private var isStarted = false

    /// Takes the reader over; nothing is read yet.
    init(_ reader: consuming RecordFileReader) {
        box = ReaderBox(reader)
    }

    /// The next chunk in file order, `nil` at the end; waits for it if it is not read yet.
    ///
    /// - Throws: The ``FileReadError`` that reading this chunk met; every later call returns `nil`.
    func next() throws(FileReadError) -> RecordChunk? {
        if !isStarted {
            if isFinished { return nil }
            let chunk: RecordChunk?
            do {
                chunk = try box.reader.nextChunk()
            } catch {
                isFinished = true
                throw error
            }
            chunksTaken += 1
            if chunk == nil {
                isFinished = true
            } else if chunksTaken == Self.chunksReadInPlace {
                isStarted = true
                let thread = Thread { [self] in run() }
                thread.name = "firn-read-ahead"
                thread.start()
            }
            return chunk
        }
        condition.lock()
        defer { condition.unlock() }
        while case .empty = slot, !isFinished { condition.wait() }
        switch slot {
        case .chunk(let chunk):
            slot = .empty
            condition.broadcast()
            return chunk
        case .failed(let error):
            slot = .end
            throw error
        case .end, .empty:
            return nil
        }
    }

    /// The file's columns that the entity does not know (see ``RecordFileReader/ignoredColumns``),
    /// once ``next()`` has returned `nil`.
    var ignoredColumns: [String] {
        condition.lock()
        defer { condition.unlock() }
        return box.reader.ignoredColumns
    }

    /// What the file left to defaults or ignored (see ``RecordFileReader/warnings``), once
    /// ``next()`` has returned `nil`.
    var warnings: [String] {
        condition.lock()
        defer { condition.unlock() }
        return box.reader.warnings
    }

    /// Lets the thread end after the chunk it is reading, if any.
    func stop() {
        condition.lock()
        isStopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            let result: Slot
            do {
                result = try box.reader.nextChunk().map(Slot.chunk) ?? .end
            } catch {
                result = .failed(error)
            }
            condition.lock()
            while case .chunk = slot, !isStopping { condition.wait() }
            if isStopping {
                isFinished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            slot = result
            let isLast: Bool
            if case .chunk = result { isLast = false } else { isLast = true }
            if isLast { isFinished = true }
            condition.broadcast()
            condition.unlock()
            if isLast { return }
        }
    }
}
