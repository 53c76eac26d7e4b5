import Crypto
import FirnCore
import FirnWarehouse
import Foundation

/// How one file's load ended.
public enum FileLoadStatus: String, Sendable, Hashable {
    /// Loaded now (good rows applied, bad rows rejected with reasons).
    case loaded
    /// Skipped: the same content (name and checksum) was loaded before.
    case skipped
    /// Not loaded: the file could not be read; the error is in load history.
    case failed
}

/// What loading one file did, as `firn load` prints it.
public struct FileLoadReport: Sendable, Hashable {
    /// The path given.
    public var path: String
    /// The outcome.
    public var status: FileLoadStatus
    /// The load history row (for skipped files, the earlier load's).
    public var summary: LoadSummary?
    /// What this run changed (zero for skipped and failed files).
    public var counts: ApplyCounts
    /// Rows rejected by this run.
    public var rejected: Int
    /// Columns of the file that the entity does not have, ignored.
    public var ignoredColumns: [String]
    /// Why the file failed.
    public var error: String?
    /// Wall-clock time of this run, in seconds.
    public var elapsedSeconds: Double
}

/// Progress of a load in flight, for a progress line.
public struct LoadProgress: Sendable, Hashable {
    /// The file.
    public var path: String
    /// Rows read so far (including rejected ones).
    public var rowsRead: Int64
}

/// Loads files into the warehouse exactly once, streaming them in chunks.
///
/// Each file is identified by its name (last path component) and SHA-256 checksum: content
/// loaded before is skipped; a changed file under the same name is new content. The file is
/// read in chunks of ``ReaderConfiguration/chunkRows`` rows, each applied in one transaction
/// together with the load's progress, so peak memory depends on the chunk size (at most three
/// chunks are held: the one applying, the next, and the one being read ahead on another thread
/// from the third on) and a load interrupted at any point resumes after its last committed
/// chunk when run again.
public struct FileLoader: Sendable {
    /// The warehouse to load into.
    public let warehouse: SQLiteWarehouse
    /// Reader settings (chunk size, field size limit).
    public var reader: ReaderConfiguration

    /// Creates a loader.
    public init(warehouse: SQLiteWarehouse, reader: ReaderConfiguration = .init()) {
        self.warehouse = warehouse
        self.reader = reader
    }

    /// Loads one file synchronously: staging, SCD1 and SCD2 are up to date when it returns.
    ///
    /// A file that cannot be read (missing, empty, binary, no key column) is recorded as
    /// failed in load history and reported with ``FileLoadStatus/failed``; bad rows are
    /// rejected with reasons and the rest loads.
    ///
    /// - Parameters:
    ///   - path: The file.
    ///   - name: The name that identifies the content in load history (with its checksum).
    ///     Defaults to the path's last component; the pipe passes the object key.
    ///   - source: Where the file came from, for load history. Defaults to `file`.
    ///   - progress: Called after each chunk.
    /// - Throws: ``WarehouseError`` when the warehouse itself fails (the file's progress up to
    ///   the last committed chunk is kept).
    public func load(
        _ path: String,
        name: String? = nil,
        source: String = "file",
        progress: (LoadProgress) -> Void = { _ in }
    ) throws(WarehouseError) -> FileLoadReport {
        let started = ContinuousClock.now
        let name = name ?? (path as NSString).lastPathComponent
        func elapsed() -> Double {
            let duration = ContinuousClock.now - started
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        func failure(_ content: FileContent, _ message: String) throws(WarehouseError) -> FileLoadReport {
            let summary = try warehouse.recordFailure(content, error: message)
            return FileLoadReport(
                path: path,
                status: .failed,
                summary: summary,
                counts: ApplyCounts(),
                rejected: 0,
                ignoredColumns: [],
                error: message,
                elapsedSeconds: elapsed()
            )
        }
        let content: FileContent
        do {
            content = try Self.identify(path, name: name, source: source)
        } catch {
            return try failure(FileContent(name: name, checksum: "", sizeBytes: 0, source: source), error.description)
        }
        let ticket: LoadTicket
        switch try warehouse.beginLoad(content) {
        case .alreadyLoaded(let summary):
            return FileLoadReport(
                path: path,
                status: .skipped,
                summary: summary,
                counts: ApplyCounts(),
                rejected: 0,
                ignoredColumns: [],
                error: nil,
                elapsedSeconds: elapsed()
            )
        case .load(let started):
            ticket = started
        }
        let chunks: ChunkReadAhead
        do {
            chunks = ChunkReadAhead(
                try RecordFileReader(
                    path: path,
                    entity: warehouse.entity,
                    load: ticket.id,
                    defaultEventTime: ticket.defaultEventTime,
                    configuration: reader
                )
            )
        } catch {
            return try failure(content, error.description)
        }
        defer { chunks.stop() }
        var counts = ApplyCounts()
        var rejected = 0
        // Read one chunk ahead, so the last chunk also marks the load finished (one commit).
        // From the third chunk on, the next one is read on another thread while this one applies.
        var current: RecordChunk?
        do {
            current = try chunks.next()
        } catch {
            return try failure(content, error.description)
        }
        var finished = false
        while let chunk = current {
            let next: RecordChunk?
            do {
                next = try chunks.next()
            } catch {
                return try failure(content, error.description)
            }
            let isLast = next == nil
            let lastRow = chunk.lastRow
            // The chunk is handed over whole (not also held in `current`), so that applying it
            // copies none of its records.
            current = next
            if lastRow > ticket.resumeAfterRow || isLast {
                rejected += chunk.rejects.count { $0.row > ticket.resumeAfterRow }
                counts += try warehouse.applyChunk(ticket, consume chunk, finishing: isLast)
                finished = isLast
            }
            progress(LoadProgress(path: path, rowsRead: lastRow))
        }
        let summary = finished ? try warehouse.loadSummary(ticket.id) : try warehouse.finishLoad(ticket)
        return FileLoadReport(
            path: path,
            status: .loaded,
            summary: summary,
            counts: counts,
            rejected: rejected,
            ignoredColumns: chunks.ignoredColumns,
            error: nil,
            elapsedSeconds: elapsed()
        )
    }

    /// The file's name, SHA-256 and size, read in 1 MiB blocks.
    static func identify(_ path: String, name: String, source: String) throws(FileReadError) -> FileContent {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileReadError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
                hasher.update(data: block)
                size += Int64(block.count)
            }
        } catch {
            throw FileReadError.cannotOpen(path: path, reason: "\(error)")
        }
        let checksum = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return FileContent(name: name, checksum: checksum, sizeBytes: size, source: source)
    }
}
