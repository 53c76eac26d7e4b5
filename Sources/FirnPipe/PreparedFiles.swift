import FirnCore
import FirnWarehouse
import Foundation

/// Files opened, checksummed and read before their load begins, held until a loader takes
/// them: a pipe prepares each object as it is announced, at the lowest priority, while the
/// objects before it apply, so that the take that loads it does not wait for reading.
///
/// An entry is used only for the same file (``FileToLoad``: path, name, source, landing time
/// and version, which the pipe sets to the object's ETag) and only as a group read ahead is
/// (see ``FileLoader/prepared(_:from:entity:ahead:)``): its records only if the entity they
/// were read with is the entity's at the file's turn and none took the placeholder event time,
/// its checksum only if no shorter load of the same name is to be resumed. So using one
/// changes nothing a load records; a file not found here is prepared in its turn, as before.
///
/// Bounded: nothing more is prepared while the entries hold ``rowLimit`` rows or ``fileLimit``
/// files (each keeps its file open), and entries older than ``lifetime`` (objects another
/// worker took, or a take that began before they
/// were ready) are dropped.
public final class PreparedFiles: Sendable {
    /// A file prepared: its snapshot, its content identity, its records.
    struct Entry: Sendable {
        var snapshot: FileSnapshot
        var content: FileContent?
        var read: FileLoader.ReadAhead?
        var rows: Int
        var preparedAt: ContinuousClock.Instant
    }

    private struct State: Sendable {
        var entries: [FileToLoad: Entry] = [:]
        var rows = 0
        var taken = 0
        /// Files a loader looked for and opened itself: prepared later, they are not held.
        var missed: Set<FileToLoad> = []
    }

    /// Files remembered as missed, at most (then forgotten together).
    static let missedLimit = 4_096

    private let state = Locked(State())

    /// Rows the entries hold at most (records read and not yet taken).
    public let rowLimit: Int

    /// Files held at most (each holds its file open).
    public let fileLimit: Int

    /// How long an entry is kept when no loader takes it.
    public let lifetime: Duration

    /// Holds at most `rowLimit` rows' worth of prepared files and at most `fileLimit` files,
    /// each for at most `lifetime`.
    public init(rowLimit: Int, fileLimit: Int = 256, lifetime: Duration = .seconds(10)) {
        self.rowLimit = rowLimit
        self.fileLimit = fileLimit
        self.lifetime = lifetime
    }

    /// Files held now.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Files a loader took from here so far.
    public var taken: Int { state.withLock { $0.taken } }

    /// Whether `file` is held, or there is no room for it: then it need not be prepared.
    func isHeldOrFull(_ file: FileToLoad) -> Bool {
        state.withLock { state in
            dropExpired(&state)
            return state.entries[file] != nil || state.rows >= rowLimit || state.entries.count >= fileLimit
        }
    }

    /// Drops the entries held longer than ``lifetime`` (closing their files).
    private func dropExpired(_ state: inout State) {
        let now = ContinuousClock.now
        for (key, entry) in state.entries where now - entry.preparedAt > lifetime {
            state.entries[key] = nil
            state.rows -= entry.rows
        }
    }

    /// Opens, checksums and reads `file` with `entity` as a loader would in its turn, and holds
    /// it; a file that cannot be opened, or that is a chunk or more (it streams in its turn), is
    /// left to its turn. Blocks the calling thread.
    func prepare(_ file: FileToLoad, entity: EntityConfiguration, configuration: ReaderConfiguration) {
        guard !isHeldOrFull(file), let snapshot = try? FileSnapshot(path: file.path),
            snapshot.sizeBytes < Int64(configuration.chunkBytes)
        else { return }
        let content = try? FileLoader.identify(snapshot, name: file.name, source: file.source).0
        let read = content == nil ? nil : FileLoader.readAhead(snapshot, entity: entity, configuration: configuration)
        let entry = Entry(
            snapshot: snapshot,
            content: content,
            read: read,
            rows: read?.chunk.records.count ?? 0,
            preparedAt: .now
        )
        state.withLock { state in
            if state.missed.remove(file) != nil { return }
            guard state.entries[file] == nil else { return }
            state.entries[file] = entry
            state.rows += entry.rows
        }
    }

    /// Holds an entry taken again (its file's turn came later than its taker thought).
    func putBack(_ file: FileToLoad, _ entry: Entry) {
        state.withLock { state in
            guard state.entries[file] == nil else { return }
            state.entries[file] = entry
            state.rows += entry.rows
            state.taken -= 1
        }
    }

    /// Takes `file`'s entry, when held.
    func take(_ file: FileToLoad) -> Entry? {
        state.withLock { state in
            dropExpired(&state)
            guard let entry = state.entries.removeValue(forKey: file) else {
                if state.missed.count >= Self.missedLimit { state.missed.removeAll() }
                state.missed.insert(file)
                return nil
            }
            state.rows -= entry.rows
            state.taken += 1
            return entry
        }
    }
}
