import FirnCore
import FirnMetrics
import FirnWarehouse
import Foundation

/// A file to load, with what load history records about it.
public struct FileToLoad: Sendable, Hashable {
    /// The file.
    public var path: String
    /// The name that identifies the content in load history (with its checksum).
    public var name: String
    /// Where the file came from, for load history.
    public var source: String
    /// When the file landed, when known (see ``FileContent/landedAt``).
    public var landedAt: Timestamp?
    /// Which version of the file this is, when known (the pipe gives the object's ETag): a
    /// file prepared ahead (``PreparedFiles``) is used only for the same version.
    public var version: String?

    /// A file named by its path's last component, from `file` unless said otherwise.
    public init(
        path: String,
        name: String? = nil,
        source: String = "file",
        landedAt: Timestamp? = nil,
        version: String? = nil
    ) {
        self.path = path
        self.name = name ?? (path as NSString).lastPathComponent
        self.source = source
        self.landedAt = landedAt
        self.version = version
    }
}

extension FileLoader {
    /// Records where an applied chunk's time went (`firn_apply_seconds_total`).
    static func recordApplied(_ counts: ApplyCounts) {
        let timings = counts.timings
        FirnMetrics.applied(
            rows: counts.staged,
            seconds: [
                (.group, timings.group), (.stage, timings.stage), (.probe, timings.probe), (.write, timings.write),
                (.commit, timings.commit),
            ]
        )
    }

    /// Files opened together, at most: bounds the descriptors a batch holds.
    static let filesPerBatch = 256

    /// Loads files in order, exactly once each, applying files that fit in one chunk together:
    /// one transaction for as many consecutive files as one chunk holds
    /// (``ReaderConfiguration/chunkRows`` rows and ``ReaderConfiguration/chunkBytes`` bytes), so a
    /// backlog of small files costs one commit per chunk's worth of rows, not one per file.
    ///
    /// Each file keeps its own load history row, rejects, progress and report, as if loaded
    /// alone with ``load(_:name:source:landedAt:progress:)``; a larger file is loaded alone, chunk
    /// by chunk, in its turn. Records arrive in file order, so history is what loading the files
    /// one by one gives. A crash at any point leaves every file either loaded (its batch
    /// committed) or resumable from its last committed chunk.
    ///
    /// While one group of files applies, the next is opened, checksummed and read on a thread
    /// of the lowest priority (``runIdle(_:)``), so one chunk's worth of the next group's records
    /// is held besides the group applying. What is read ahead is used only if it is what reading
    /// the file in its turn gives (see ``prepared(_:from:entity:ahead:)``).
    ///
    /// - Parameters:
    ///   - files: The files, in the order they apply.
    ///   - progress: Called after each chunk of a file loaded alone.
    ///   - loaded: Called with each file's position and report once its load is committed (or
    ///     skipped, or failed), in file order.
    /// - Returns: One report per file, in order.
    /// - Throws: ``WarehouseError`` when the warehouse itself fails (files committed before are
    ///   loaded; the rest resume when loaded again).
    public func load(
        _ files: [FileToLoad],
        progress: (LoadProgress) -> Void = { _ in },
        loaded: (Int, FileLoadReport) -> Void = { _, _ in }
    ) async throws(WarehouseError) -> [FileLoadReport] {
        var reports: [FileLoadReport] = []
        reports.reserveCapacity(files.count)
        // Each group is opened, checksummed and read while the group before it applies.
        var upcoming = files.isEmpty ? nil : prepare(files, from: 0, ahead: false)
        while let preparing = upcoming {
            let group = await preparing.value
            upcoming = group.end < files.count ? prepare(files, from: group.end, ahead: true) : nil
            do {
                try await loadTogether(group, progress: progress) { index, report in
                    reports.append(report)
                    loaded(index, report)
                }
            } catch {
                upcoming?.cancel()
                throw error
            }
        }
        return reports
    }

    /// Loads a prepared group of files (at least one), batching those that fit in one chunk.
    private func loadTogether(
        _ group: PreparedGroup,
        progress: (LoadProgress) -> Void,
        report: (Int, FileLoadReport) -> Void
    ) async throws(WarehouseError) {
        let opened = group.opened
        // A file of a chunk or more loads alone, streamed.
        if group.isStreamed(chunkBytes: reader.chunkBytes) {
            let (index, file) = (opened[0].index, opened[0].file)
            report(
                index,
                try await load(
                    file.path,
                    name: file.name,
                    source: file.source,
                    landedAt: file.landedAt,
                    progress: progress
                )
            )
            return
        }
        let started = ContinuousClock.now
        // Identify them (checksums), and begin their loads in one transaction.
        var identified:
            [(index: Int, file: FileToLoad, snapshot: FileSnapshot, content: FileContent, continuing: UnfinishedLoad?)] =
                []
        var failures: [Int: String] = [:]
        // One read for every file's unfinished loads, and one thread hop for every checksum.
        let unfinished = try await warehouse.unfinishedLoads(
            named: opened.compactMap { $0.snapshot == nil ? nil : $0.file.name }
        )
        var toIdentify: [(index: Int, file: FileToLoad, snapshot: FileSnapshot, unfinished: [UnfinishedLoad])] = []
        for entry in opened {
            guard let snapshot = entry.snapshot else {
                failures[entry.index] = entry.error
                continue
            }
            let shorter = (unfinished[entry.file.name] ?? []).filter { $0.content.sizeBytes < snapshot.sizeBytes }
            if shorter.isEmpty, var content = group.contents[entry.index] {
                // Checksummed ahead, and no load of a shorter version to resume.
                content.landedAt = entry.file.landedAt
                identified.append((entry.index, entry.file, snapshot, content, nil))
                continue
            }
            toIdentify.append((entry.index, entry.file, snapshot, shorter))
        }
        let identifying = toIdentify
        typealias Identity = Result<(FileContent, [Int64: String]), FileReadError>
        let identities: [Identity] = identifying.isEmpty ? [] : await runBlocking { () -> [Identity] in
            identifying.map { entry in
                do throws(FileReadError) {
                    let sizes = Set(entry.unfinished.map(\.content.sizeBytes))
                    return .success(
                        try Self.identify(
                            entry.snapshot,
                            name: entry.file.name,
                            source: entry.file.source,
                            prefixes: sizes
                        )
                    )
                } catch {
                    return .failure(error)
                }
            }
        }
        for (entry, identity) in zip(toIdentify, identities) {
            switch identity {
            case .success(let (identifiedContent, prefixes)):
                var content = identifiedContent
                content.landedAt = entry.file.landedAt
                let continuing = entry.unfinished.first { prefixes[$0.content.sizeBytes] == $0.content.checksum }
                identified.append((entry.index, entry.file, entry.snapshot, content, continuing))
            case .failure(let error):
                failures[entry.index] = error.description
            }
        }
        // Loads begin in file order.
        identified.sort { $0.index < $1.index }
        let starts = try await warehouse.beginLoads(identified.map { ($0.content, $0.continuing) })
        var begun: [Int: (FileInLoad, LoadStart)] = [:]
        for (entry, start) in zip(identified, starts) {
            let file = FileInLoad(
                path: entry.file.path,
                snapshot: entry.snapshot,
                content: entry.content,
                ticket: LoadTicket(id: 0, content: entry.content, resumeAfterRow: 0, defaultEventTime: .now()),
                started: started
            )
            begun[entry.index] = (file, start)
        }
        // Read each file and apply the ones of one chunk together, in order.
        var batch = PendingBatch()
        var begunIDs: Set<Int64> = []
        for entry in opened {
            let index = entry.index
            if let message = failures[index] {
                try await flush(&batch, report: report)
                let summary = try await warehouse.recordFailure(
                    FileContent(name: entry.file.name, checksum: "", sizeBytes: 0, source: entry.file.source),
                    error: message
                )
                report(index, .failed(path: entry.file.path, summary: summary, error: message, elapsedSeconds: 0))
                continue
            }
            // Every file opened was either begun or has a failure.
            guard var (file, start) = begun[index] else {
                preconditionFailure("file \(index) neither begun nor failed")
            }
            if case .load(let ticket) = start, !begunIDs.insert(ticket.id).inserted {
                // The same content twice (a file given twice): once the first commits, the
                // second is skipped, as loading them one by one would.
                try await flush(&batch, report: report)
                start = try await warehouse.beginLoad(file.content)
            }
            let ticket: LoadTicket
            switch start {
            case .alreadyLoaded(let summary):
                try await flush(&batch, report: report)
                report(index, .skipped(path: file.path, summary: summary, elapsedSeconds: file.elapsedSeconds))
                continue
            case .load(let begun):
                ticket = begun
            }
            file.ticket = ticket
            var read: ReadFile
            switch try await evolve(file.snapshot, name: file.content.name) {
            case .failed(let message):
                read = .failed(message)
            case .entity(let entity, let note):
                file.notes = note.map { [$0] } ?? []
                if let ahead = group.reads[index], ahead.entity == entity {
                    // Read ahead as reading it now would (its records' load is set as they apply).
                    read = .one(ahead.chunk, ignoredColumns: ahead.ignoredColumns, warnings: ahead.warnings)
                } else {
                    read = await Self.read(file, entity: entity, configuration: reader)
                }
            }
            // A JSON Lines file read whole whose members the entity lacks, under evolve: the
            // columns are added and the file read again (a longer one does this as it streams).
            if case .one(let chunk, _, _) = read, !chunk.unknownColumns.isEmpty,
                warehouse.entity.schemaEvolution == .evolve
            {
                switch try await evolve(file.snapshot, name: file.content.name, deferringJSONLines: false) {
                case .failed(let message):
                    read = .failed(message)
                case .entity(let entity, let note):
                    if let note { file.notes.append(note) }
                    read = await Self.read(file, entity: entity, configuration: reader)
                }
            }
            // Values that fit wider types, under evolve: the attributes are widened and the file
            // read again (records of files read before are converted as they apply).
            var widenings: Set<Column> = []
            while case .one(let chunk, _, _) = read, needsWidening(chunk, asked: widenings) {
                switch try await widen(chunk.widenings, file: file, asked: &widenings) {
                case .failed(let message):
                    read = .failed(message)
                case .entity(let entity, let note):
                    if let note { file.notes.append(note) }
                    read = await Self.read(file, entity: entity, configuration: reader)
                }
            }
            switch read {
            case .failed(let message):
                try await flush(&batch, report: report)
                report(index, file.failed(try await warehouse.recordFailure(file.content, error: message), message))
            case .several(let chunks, let first, let second):
                // Too many rows for one chunk: loaded alone, in its turn.
                try await flush(&batch, report: report)
                defer { chunks.stop() }
                report(index, try await stream(file, chunks, read: [first, second], progress: progress))
            case .one(let chunk, let ignoredColumns, let warnings):
                if batch.rows + chunk.records.count > reader.chunkRows { try await flush(&batch, report: report) }
                batch.rows += chunk.records.count
                batch.files.append(
                    PendingFile(
                        index: index,
                        file: file,
                        chunk: chunk,
                        ignoredColumns: ignoredColumns,
                        warnings: file.notes + warnings
                    )
                )
            }
        }
        try await flush(&batch, report: report)
    }

    /// Files read whole, waiting to be applied together.
    private struct PendingBatch {
        var files: [PendingFile] = []
        var rows = 0
    }

    private struct PendingFile {
        var index: Int
        var file: FileInLoad
        var chunk: RecordChunk
        var ignoredColumns: [String]
        var warnings: [String]
    }

    /// What reading a begun file gave.
    private enum ReadFile {
        /// The whole file, in one chunk.
        case one(RecordChunk, ignoredColumns: [String], warnings: [String])
        /// The first two chunks, and the reader for the rest.
        case several(ChunkReadAhead, RecordChunk, RecordChunk)
        /// It could not be read.
        case failed(String)
    }

    private static func read(
        _ file: FileInLoad,
        entity: EntityConfiguration,
        configuration: ReaderConfiguration
    ) async -> ReadFile {
        await runBlocking { () -> ReadFile in
            do throws(FileReadError) {
                let chunks = ChunkReadAhead(
                    try RecordFileReader(
                        snapshot: file.snapshot,
                        entity: entity,
                        load: file.ticket.id,
                        defaultEventTime: file.ticket.defaultEventTime,
                        configuration: configuration
                    )
                )
                guard let first = try chunks.next() else {
                    // An empty file has one empty chunk: its load still finishes.
                    return .one(
                        RecordChunk(records: [], rejects: [], lastRow: 0),
                        ignoredColumns: chunks.ignoredColumns,
                        warnings: chunks.warnings
                    )
                }
                guard let second = try chunks.next() else {
                    return .one(first, ignoredColumns: chunks.ignoredColumns, warnings: chunks.warnings)
                }
                return .several(chunks, first, second)
            } catch {
                return .failed(error.description)
            }
        }
    }

    /// Applies the pending files in one transaction and reports each.
    private func flush(
        _ batch: inout PendingBatch,
        report: (Int, FileLoadReport) -> Void
    ) async throws(WarehouseError) {
        guard !batch.files.isEmpty else { return }
        var pending = batch.files
        batch = PendingBatch()
        // Rows of a file still being written must not commit under its checksum.
        var changed: [(PendingFile, String)] = []
        let snapshots = pending.map(\.file.snapshot)
        let changes = await runBlocking { snapshots.map { $0.change() } }
        for (position, change) in changes.enumerated().reversed() {
            if let message = FileInLoad.changeMessage(path: pending[position].file.path, change) {
                changed.insert((pending.remove(at: position), message), at: 0)
            }
        }
        var parts: [ChunkApplication] = []
        parts.reserveCapacity(pending.count)
        var rejected: [Int] = []
        for index in pending.indices {
            let ticket = pending[index].file.ticket
            rejected.append(pending[index].chunk.rejects.count { $0.row > ticket.resumeAfterRow })
            let chunk = pending[index].chunk
            pending[index].chunk = RecordChunk(records: [], rejects: [], lastRow: chunk.lastRow)
            parts.append(
                ChunkApplication(ticket: ticket, chunk: chunk, finishing: true, warnings: pending[index].warnings)
            )
        }
        let applying = ContinuousClock.now
        let counts = parts.isEmpty ? nil : try await warehouse.applyChunks(consume parts)
        if let counts {
            FirnMetrics.committed(nanoseconds: (ContinuousClock.now - applying).nanosecondsCount)
            Self.recordApplied(counts.total)
        }
        var reports: [(Int, FileLoadReport)] = []
        let ids = pending.map(\.file.ticket.id)
        let summaries =
            if let read = counts?.summaries, ids.allSatisfy({ read[$0] != nil }) {
                read
            } else {
                try await warehouse.loadSummaries(ids)
            }
        for (position, entry) in pending.enumerated() {
            let summary = summaries[entry.file.ticket.id]
            reports.append(
                (
                    entry.index,
                    FileLoadReport(
                        path: entry.file.path,
                        status: .loaded,
                        summary: summary,
                        counts: counts?.parts[position] ?? ApplyCounts(),
                        rejected: rejected[position],
                        ignoredColumns: entry.ignoredColumns,
                        warnings: entry.warnings,
                        error: nil,
                        elapsedSeconds: entry.file.elapsedSeconds
                    )
                )
            )
        }
        for (entry, message) in changed {
            reports.append(
                (
                    entry.index,
                    entry.file.failed(try await warehouse.recordFailure(entry.file.content, error: message), message)
                )
            )
        }
        // In file order.
        for (index, fileReport) in reports.sorted(by: { $0.0 < $1.0 }) { report(index, fileReport) }
    }
}
