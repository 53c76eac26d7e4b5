import Crypto
import FirnCore
import FirnMetrics
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
    /// What the file left to defaults or ignored, one sentence each (see
    /// ``RecordFileReader/warnings``); also in load history's `warnings`.
    public var warnings: [String] = []
    /// Why the file failed.
    public var error: String?
    /// Wall-clock time of this run, in seconds.
    public var elapsedSeconds: Double
}

extension FileLoadReport {
    /// The report of a file that was not loaded, with why.
    static func failed(path: String, summary: LoadSummary, error: String, elapsedSeconds: Double) -> FileLoadReport {
        FileLoadReport(
            path: path,
            status: .failed,
            summary: summary,
            counts: ApplyCounts(),
            rejected: 0,
            ignoredColumns: [],
            error: error,
            elapsedSeconds: elapsedSeconds
        )
    }

    /// The report of a file skipped because its content was loaded before, by `summary`'s load.
    static func skipped(path: String, summary: LoadSummary, elapsedSeconds: Double) -> FileLoadReport {
        FileLoadReport(
            path: path,
            status: .skipped,
            summary: summary,
            counts: ApplyCounts(),
            rejected: 0,
            ignoredColumns: [],
            error: nil,
            elapsedSeconds: elapsedSeconds
        )
    }
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
/// loaded before is skipped; a changed file under the same name is new content. The checksum
/// and the rows come from the same bytes: the file as it was when opened (``FileSnapshot``).
/// A file that changes while it loads (still being written) fails before its next chunk
/// commits, saying so; loading it again once it is complete continues the same load when the
/// file only grew (its start has the checksum recorded), so no row is staged twice. The file is
/// read in chunks of ``ReaderConfiguration/chunkRows`` rows, each applied in one transaction
/// together with the load's progress, so peak memory depends on the chunk size (at most three
/// chunks of a file are held: the one applying, the next, and the one being read ahead on
/// another thread from the third on; loading several files, also the next group's, read ahead)
/// and a load interrupted at any point resumes after its last committed chunk when run again.
public struct FileLoader: Sendable {
    /// The warehouse to load into.
    public let warehouse: any Warehouse
    /// Reader settings (chunk size, field size limit).
    public var reader: ReaderConfiguration
    /// Files prepared before their turn (by a pipe, as their objects were announced), used in
    /// place of opening, checksumming and reading them again; `nil` for none.
    var preparedFiles: PreparedFiles?

    /// Creates a loader.
    public init(warehouse: any Warehouse, reader: ReaderConfiguration = .init()) {
        self.warehouse = warehouse
        self.reader = reader
    }

    /// Loads one file: staging, SCD1 and SCD2 are up to date when it returns.
    ///
    /// A file that cannot be read (missing, empty, binary, no key column) or that changes while
    /// it loads is recorded as failed in load history and reported with ``FileLoadStatus/failed``;
    /// bad rows are rejected with reasons and the rest loads. What the file left to defaults or
    /// ignored (no op or event-time column, unknown columns) is kept in load history's `warnings`.
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
        landedAt: Timestamp? = nil,
        progress: (LoadProgress) -> Void = { _ in }
    ) async throws(WarehouseError) -> FileLoadReport {
        let started = ContinuousClock.now
        let name = name ?? (path as NSString).lastPathComponent
        func elapsed() -> Double {
            let duration = ContinuousClock.now - started
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        func failure(_ content: FileContent, _ message: String) async throws(WarehouseError) -> FileLoadReport {
            let summary = try await warehouse.recordFailure(content, error: message)
            return .failed(path: path, summary: summary, error: message, elapsedSeconds: elapsed())
        }
        let unreadable = FileContent(name: name, checksum: "", sizeBytes: 0, source: source)
        let snapshot: FileSnapshot
        do {
            snapshot = try await runBlocking { () throws(FileReadError) in try FileSnapshot(path: path) }
        } catch {
            return try await failure(unreadable, error.description)
        }
        // A load of this name that stopped part way, on a file that has only grown since.
        let unfinished = try await warehouse.unfinishedLoads(named: name).filter {
            $0.content.sizeBytes < snapshot.sizeBytes
        }
        var content: FileContent
        let prefixes: [Int64: String]
        do {
            let sizes = Set(unfinished.map(\.content.sizeBytes))
            (content, prefixes) = try await runBlocking { () throws(FileReadError) in
                try Self.identify(snapshot, name: name, source: source, prefixes: sizes)
            }
        } catch {
            return try await failure(unreadable, error.description)
        }
        content.landedAt = landedAt
        let continuing = unfinished.first { prefixes[$0.content.sizeBytes] == $0.content.checksum }
        let ticket: LoadTicket
        switch try await warehouse.beginLoad(content, continuing: continuing) {
        case .alreadyLoaded(let summary):
            return .skipped(path: path, summary: summary, elapsedSeconds: elapsed())
        case .load(let started):
            ticket = started
        }
        let entity: EntityConfiguration
        var notes: [String] = []
        switch try await evolve(snapshot, name: name) {
        case .failed(let message):
            return try await failure(content, message)
        case .entity(let evolved, let note):
            entity = evolved
            if let note { notes.append(note) }
        }
        let file = FileInLoad(
            path: path,
            snapshot: snapshot,
            content: content,
            ticket: ticket,
            started: started,
            notes: notes
        )
        let chunks: ChunkReadAhead
        do {
            chunks = try await Self.open(file, entity: entity, configuration: reader)
        } catch {
            return try await failure(content, error.description)
        }
        defer { chunks.stop() }
        return try await stream(file, chunks, read: [], progress: progress)
    }

    /// Opens a begun file's reader for `entity`. Opening reads the header, or under
    /// `schema_evolution: reject` a JSON Lines file's every line: off the cooperative pool.
    static func open(
        _ file: FileInLoad,
        entity: EntityConfiguration,
        configuration: ReaderConfiguration
    ) async throws(FileReadError) -> ChunkReadAhead {
        let (snapshot, ticket) = (file.snapshot, file.ticket)
        return try await runBlocking { () throws(FileReadError) in
            ChunkReadAhead(
                try RecordFileReader(
                    snapshot: snapshot,
                    entity: entity,
                    load: ticket.id,
                    defaultEventTime: ticket.defaultEventTime,
                    configuration: configuration
                )
            )
        }
    }

    /// A file whose load has begun.
    struct FileInLoad: Sendable {
        var path: String
        var snapshot: FileSnapshot
        var content: FileContent
        var ticket: LoadTicket
        /// When its load started (for the report's elapsed time).
        var started: ContinuousClock.Instant
        /// What loading it did besides its rows, for load history's warnings (the columns it
        /// added to the entity).
        var notes: [String] = []

        var elapsedSeconds: Double {
            let duration = ContinuousClock.now - started
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }

        /// The report of a file that could not be read or changed while it loaded.
        func failed(_ summary: LoadSummary, _ message: String) -> FileLoadReport {
            .failed(path: path, summary: summary, error: message, elapsedSeconds: elapsedSeconds)
        }

        /// Why the file must not load under its checksum, if it changed since it was opened.
        func changed() async -> String? {
            let snapshot = self.snapshot
            return Self.changeMessage(path: path, await runBlocking({ snapshot.change() }))
        }

        /// Why a file must not load under its checksum, given how its snapshot changed.
        static func changeMessage(path: String, _ change: String?) -> String? {
            guard let change else { return nil }
            return "\(path): the file changed while it was being loaded (\(change)); load it again once it "
                + "is complete (rows already loaded are not loaded again)"
        }
    }

    /// Applies a begun file's chunks, each in its own transaction: first those already `read`,
    /// then the rest from `chunks`.
    func stream(
        _ file: FileInLoad,
        _ chunks: ChunkReadAhead,
        read: [RecordChunk],
        progress: (LoadProgress) -> Void
    ) async throws(WarehouseError) -> FileLoadReport {
        var file = file
        let ticket = file.ticket
        var read = read[...]
        // The reader: `chunks`, or one opened again with columns a JSON Lines file added.
        var reading = chunks
        defer { if reading !== chunks { reading.stop() } }
        func next() async throws(FileReadError) -> RecordChunk? {
            if let chunk = read.popFirst() { return chunk }
            let reader = reading
            return try await runBlocking { () throws(FileReadError) in try reader.next() }
        }
        func failure(_ message: String) async throws(WarehouseError) -> FileLoadReport {
            file.failed(try await warehouse.recordFailure(file.content, error: message), message)
        }
        var counts = ApplyCounts()
        var rejected = 0
        // The rows committed so far (the warehouse skips rows at or before its own count too).
        var committedRow = ticket.resumeAfterRow
        // Read one chunk ahead, so the last chunk also marks the load finished (one commit).
        // From the third chunk on, the next one is read on another thread while this one applies.
        var current: RecordChunk?
        do {
            current = try await next()
        } catch {
            return try await failure(error.description)
        }
        var finished = false
        var widenings: Set<Column> = []
        while let chunk = current {
            // Under evolve, the file is read again with the entity changed before this chunk
            // applies (the rows committed skipped), when the chunk has a JSON Lines member the
            // entity lacks (no line before it has it: its column is added) or a value that fits
            // a wider type (the attribute is widened).
            var reopening: EntityConfiguration?
            if !chunk.unknownColumns.isEmpty, warehouse.entity.schemaEvolution == .evolve {
                let width = warehouse.entity.attributeColumns.count
                switch try await evolve(file.snapshot, name: file.content.name, deferringJSONLines: false) {
                case .failed(let message):
                    return try await failure(message)
                case .entity(let entity, let note) where entity.attributeColumns.count > width:
                    if let note { file.notes.append(note) }
                    reopening = entity
                case .entity:
                    break
                }
            }
            if reopening == nil, chunk.lastRow > committedRow, needsWidening(chunk, asked: widenings) {
                switch try await widen(chunk.widenings, file: file, asked: &widenings) {
                case .failed(let message):
                    return try await failure(message)
                case .entity(let entity, let note):
                    if let note { file.notes.append(note) }
                    reopening = entity
                }
            }
            if let entity = reopening {
                reading.stop()
                do {
                    reading = try await Self.open(file, entity: entity, configuration: reader)
                    read = []
                    current = try await next()
                } catch {
                    return try await failure(error.description)
                }
                continue
            }
            let following: RecordChunk?
            do {
                following = try await next()
            } catch {
                return try await failure(error.description)
            }
            let isLast = following == nil
            let lastRow = chunk.lastRow
            // The chunk is handed over whole (not also held in `current`), so that applying it
            // copies none of its records.
            current = following
            if lastRow > committedRow || isLast {
                // Rows of a file still being written must not commit under this checksum.
                if let change = await file.changed() { return try await failure(change) }
                rejected += chunk.rejects.count { $0.row > committedRow }
                let warnings = isLast ? file.notes + reading.warnings : []
                let applying = ContinuousClock.now
                let applied = try await warehouse.applyChunk(ticket, consume chunk, finishing: isLast, warnings: warnings)
                FirnMetrics.committed(nanoseconds: (ContinuousClock.now - applying).nanosecondsCount)
                Self.recordApplied(applied)
                counts += applied
                committedRow = max(committedRow, lastRow)
                finished = isLast
            }
            progress(LoadProgress(path: file.path, rowsRead: lastRow))
        }
        let warnings = file.notes + reading.warnings
        let summary =
            finished
            ? try await warehouse.loadSummary(ticket.id) : try await warehouse.finishLoad(ticket, warnings: warnings)
        return FileLoadReport(
            path: file.path,
            status: .loaded,
            summary: summary,
            counts: counts,
            rejected: rejected,
            ignoredColumns: reading.ignoredColumns,
            warnings: warnings,
            error: nil,
            elapsedSeconds: file.elapsedSeconds
        )
    }

    /// How a file's columns left the entity (``evolve(_:name:)``).
    enum Evolution {
        /// Read the file with this entity; `note` says what was added, for load history.
        case entity(EntityConfiguration, note: String?)
        /// The file cannot load: why.
        case failed(String)
    }

    /// Under `schema_evolution: evolve`, adds the columns of the file that the entity lacks to
    /// the warehouse, typed by their values, before any row of it is read for loading; the
    /// entity as it is otherwise.
    ///
    /// - Throws: ``WarehouseError`` that may clear on retry (a lost server); one that will not
    ///   (a column the warehouse refuses) fails the file instead.
    ///
    /// A JSON Lines file's members are known only once its lines are read, so unless
    /// `deferringJSONLines` is `false` its new columns are added when a chunk first shows one,
    /// before that chunk applies (``stream(_:_:read:progress:)``): a file whose shape does not
    /// change is read once.
    func evolve(
        _ snapshot: FileSnapshot,
        name: String,
        deferringJSONLines: Bool = true
    ) async throws(WarehouseError) -> Evolution {
        let entity = warehouse.entity
        guard entity.schemaEvolution == .evolve else { return .entity(entity, note: nil) }
        if deferringJSONLines, FileFormat(path: snapshot.path) == .jsonLines { return .entity(entity, note: nil) }
        let configuration = reader
        let columns: [Column]
        do {
            columns = try await runBlocking { () throws(FileReadError) in
                try RecordFileReader.newColumns(in: snapshot, entity: entity, configuration: configuration)
            }
        } catch {
            return .failed(error.description)
        }
        guard !columns.isEmpty else { return .entity(entity, note: nil) }
        do {
            let grown = try await warehouse.addAttributes(columns, file: name)
            let added = columns.map { "\($0.name) \($0.type.rawValue)" }.joined(separator: ", ")
            return .entity(grown, note: "new column(s) added to the entity (schema_evolution: evolve): \(added)")
        } catch  where !error.mayRetry {
            return .failed("\(snapshot.path): its new column(s) could not be added: \(error)")
        }
    }

    /// The snapshot's content identity (name, SHA-256, size), and the SHA-256 of its first
    /// `prefixes` bytes (each shorter than the snapshot), all in one pass.
    static func identify(
        _ snapshot: FileSnapshot,
        name: String,
        source: String,
        prefixes: Set<Int64> = []
    ) throws(FileReadError) -> (FileContent, prefixes: [Int64: String]) {
        var hasher = SHA256()
        var digests: [Int64: String] = [:]
        let cuts = prefixes.sorted()
        var nextCut = 0
        try snapshot.forEachBlock { offset, block in
            var start = 0
            // Finish the digest of each prefix that ends in this block on a copy of the hasher.
            while nextCut < cuts.count, cuts[nextCut] <= offset + Int64(block.count) {
                let end = Int(cuts[nextCut] - offset)
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: block[start..<end]))
                start = end
                digests[cuts[nextCut]] = hex(hasher)
                nextCut += 1
            }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: block[start...]))
        }
        let content = FileContent(name: name, checksum: hex(hasher), sizeBytes: snapshot.sizeBytes, source: source)
        return (content, digests)
    }

    private static func hex(_ hasher: SHA256) -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
