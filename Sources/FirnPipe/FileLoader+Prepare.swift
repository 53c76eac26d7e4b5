import FirnCore
import FirnWarehouse
import Foundation

/// The part of loading several files that needs no warehouse: opening, checksumming and
/// reading them. ``FileLoader/load(_:progress:loaded:)`` prepares the next group of files this
/// way while the current group applies, so that reading and parsing overlap the writer's work.
extension FileLoader {
    /// A group of files opened, identified and read ahead of their turn.
    struct PreparedGroup: Sendable {
        /// The files, each with its snapshot, or why it could not be opened.
        var opened: [(index: Int, file: FileToLoad, snapshot: FileSnapshot?, error: String?)] = []
        /// Each file's content identity (name, checksum, size), by position, when computed.
        var contents: [Int: FileContent] = [:]
        /// Files read whole, by position, with the entity they were read with. Their records'
        /// load is a placeholder (set as they apply), and none took a default event time.
        var reads: [Int: ReadAhead] = [:]

        /// The position after the group's last file.
        var end: Int { (opened.last?.index ?? -1) + 1 }

        /// Whether the group is one file of a chunk or more, streamed in its turn.
        func isStreamed(chunkBytes: Int) -> Bool {
            opened.count == 1 && (opened[0].snapshot?.sizeBytes ?? 0) >= Int64(chunkBytes)
        }
    }

    /// A group's files as ``PreparedGroup/opened`` lists them.
    typealias OpenedFiles = [(index: Int, file: FileToLoad, snapshot: FileSnapshot?, error: String?)]

    /// A file read whole ahead of its turn.
    struct ReadAhead: Sendable {
        /// The entity it was read with: used only if the file's turn gives the same.
        var entity: EntityConfiguration
        var chunk: RecordChunk
        var ignoredColumns: [String]
        var warnings: [String]
    }

    /// The default event time of records read ahead: before any time a file can hold, so that a
    /// record that took it (a JSON Lines line without the member) is recognised, and the file is
    /// read again in its turn with its load's real time.
    static let placeholderEventTime = Timestamp(microseconds: .min + 1)

    /// Starts preparing the group of files from `start` (see ``prepared(_:from:entity:ahead:)``):
    /// `ahead` of its turn, while another group applies, at the lowest priority.
    func prepare(_ files: [FileToLoad], from start: Int, ahead: Bool) -> Task<PreparedGroup, Never> {
        let (loader, entity) = (self, warehouse.entity)
        return Task { await loader.prepared(files, from: start, entity: entity, ahead: ahead) }
    }

    /// Opens the files from `start` up to a chunk's worth of bytes (at least one file) and,
    /// unless the group is one file of a chunk or more, checksums each and reads with `entity`
    /// those that fit in one chunk. The checksums and reads run on one thread of the lowest
    /// priority when `ahead` (``runIdle(_:)``), and otherwise (nothing applies yet) on one
    /// thread per core, each taking a run of consecutive files.
    ///
    /// Nothing here writes, and nothing read ahead is used unless it is what reading the file
    /// in its turn would give: the same entity then, no record that took the placeholder event
    /// time, and (for the checksum) no shorter load of the same name to resume.
    func prepared(
        _ files: [FileToLoad],
        from start: Int,
        entity: EntityConfiguration,
        ahead: Bool
    ) async -> PreparedGroup {
        let chunkBytes = Int64(reader.chunkBytes)
        let candidates = Array(files[start..<min(files.count, start + Self.filesPerBatch)].enumerated())
        var group = PreparedGroup()
        // Files prepared before their turn (``PreparedFiles``) are taken as they are opened.
        let preparedFiles = self.preparedFiles
        let held = Locked<[Int: PreparedFiles.Entry]>([:])
        group.opened = await runBlocking {
            () -> [(index: Int, file: FileToLoad, snapshot: FileSnapshot?, error: String?)] in
            var opened: [(index: Int, file: FileToLoad, snapshot: FileSnapshot?, error: String?)] = []
            var bytes: Int64 = 0
            for (offset, file) in candidates {
                do throws(FileReadError) {
                    let entry = preparedFiles?.take(file)
                    let snapshot: FileSnapshot
                    if let entry { snapshot = entry.snapshot } else { snapshot = try FileSnapshot(path: file.path) }
                    // The next group starts with this file (and takes it prepared, if it was).
                    if !opened.isEmpty, bytes + snapshot.sizeBytes > chunkBytes {
                        if let entry { preparedFiles?.putBack(file, entry) }
                        break
                    }
                    if let entry { held.withLock { $0[start + offset] = entry } }
                    bytes += snapshot.sizeBytes
                    opened.append((start + offset, file, snapshot, nil))
                } catch {
                    opened.append((start + offset, file, nil, error.description))
                }
                if bytes >= chunkBytes { break }
            }
            return opened
        }
        guard !group.isStreamed(chunkBytes: reader.chunkBytes), !Task.isCancelled else { return group }
        let (opened, configuration) = (group.opened, reader)
        let ready = held.withLock { $0 }
        let work = { @Sendable (slice: OpenedFiles.SubSequence) in
            slice.compactMap { entry -> (Int, FileContent, ReadAhead?)? in
                // Prepared before: as computed then (a file it could not identify is identified in its turn).
                if let held = ready[entry.index] { return held.content.map { (entry.index, $0, held.read) } }
                guard let snapshot = entry.snapshot,
                    let (content, _) = try? Self.identify(snapshot, name: entry.file.name, source: entry.file.source)
                else { return nil }
                return (entry.index, content, Self.readAhead(snapshot, entity: entity, configuration: configuration))
            }
        }
        let prepared: [(Int, FileContent, ReadAhead?)]
        if ahead {
            // Ahead of its turn, it takes only what the applying group leaves of the CPU.
            prepared = await runIdle { work(opened[...]) }
        } else {
            let threads = max(1, min(opened.count, ProcessInfo.processInfo.activeProcessorCount))
            let step = (opened.count + threads - 1) / threads
            prepared = await withTaskGroup(of: [(Int, FileContent, ReadAhead?)].self) { tasks in
                for start in stride(from: 0, to: opened.count, by: step) {
                    let slice = opened[start..<min(opened.count, start + step)]
                    tasks.addTask { await runBlocking { work(slice) } }
                }
                var all: [(Int, FileContent, ReadAhead?)] = []
                for await part in tasks { all += part }
                return all
            }
        }
        for (index, content, read) in prepared {
            group.contents[index] = content
            group.reads[index] = read
        }
        return group
    }

    /// The file read whole when it fits in one chunk, reads without failing and gives every
    /// record its own event time; `nil` otherwise (it is read in its turn, as if never read
    /// ahead). Blocks the calling thread.
    static func readAhead(
        _ snapshot: FileSnapshot,
        entity: EntityConfiguration,
        configuration: ReaderConfiguration
    ) -> ReadAhead? {
        do throws(FileReadError) {
            var reader = try RecordFileReader(
                snapshot: snapshot,
                entity: entity,
                load: 0,
                defaultEventTime: placeholderEventTime,
                configuration: configuration
            )
            let chunk = try reader.nextChunk() ?? RecordChunk(records: [], rejects: [], lastRow: 0)
            guard try reader.nextChunk() == nil,
                !chunk.records.contains(where: { $0.eventTime == placeholderEventTime })
            else { return nil }
            return ReadAhead(
                entity: entity,
                chunk: chunk,
                ignoredColumns: reader.ignoredColumns,
                warnings: reader.warnings
            )
        } catch {
            return nil
        }
    }
}
