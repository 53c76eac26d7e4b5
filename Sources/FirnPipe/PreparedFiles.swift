import FirnCore
import FirnWarehouse
import Foundation

/// Files opened, checksummed and read before their load begins, held until a loader takes
/// them: a pipe prepares each object as it is announced, at the lowest priority, while the
/// objects before it apply, so that the take that loads it does not wait for reading.
///
/// An entry is used only for an equal ``FileToLoad`` (path, name, source, landing time and
/// version, which the pipe sets to the ETag the object was announced with), and only as a
/// group read ahead is (see ``FileLoader/prepared(_:from:entity:ahead:)``): its records only if
/// the entity they were read with is the entity's at the file's turn and none took the
/// placeholder event time, its checksum only if no shorter load of the same name is to be
/// resumed. So using one changes nothing a load records; the bytes are those the file held
/// when it was opened, as when a take opens it. A file not found here is read in its turn.
///
/// Bounded: no file is prepared while the entries hold ``rowLimit`` rows (a file is read
/// whole, so the last one prepared may pass that by its own rows) or ``fileLimit`` files (each
/// keeps its file open). Entries older than ``lifetime`` (objects another worker took, or whose
/// take began before they were ready) are dropped when the next file is prepared or taken;
/// ``removeAll()`` drops every entry.
final class PreparedFiles: Sendable {
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

    /// Rows the entries hold before no more files are prepared.
    let rowLimit: Int

    /// Files held at most. Defaults to 256.
    let fileLimit: Int

    /// How long an entry is kept when no loader takes it. Defaults to 10 seconds.
    let lifetime: Duration

    /// Holds prepared files up to `rowLimit` rows and `fileLimit` files, each for at most
    /// `lifetime`.
    init(rowLimit: Int, fileLimit: Int = 256, lifetime: Duration = .seconds(10)) {
        self.rowLimit = rowLimit
        self.fileLimit = fileLimit
        self.lifetime = lifetime
    }

    /// Files held now.
    var count: Int { state.withLock { $0.entries.count } }

    /// Files a loader took from here so far.
    var taken: Int { state.withLock { $0.taken } }

    /// Whether no more files are prepared now (the limits are reached).
    var isFull: Bool { state.withLock { $0.rows >= rowLimit || $0.entries.count >= fileLimit } }

    /// Drops every entry.
    func removeAll() {
        let dropped = state.withLock { state in
            defer {
                state.entries = [:]
                state.rows = 0
                state.missed = []
            }
            return state.entries
        }
        _ = consume dropped
    }

    /// Opens, checksums and reads `file` with `entity` as a loader would in its turn, and holds
    /// it; a file that cannot be opened, or that is a chunk or more (it streams in its turn), is
    /// left to its turn, as is every file while the limits are reached. Blocks the calling
    /// thread.
    func prepare(_ file: FileToLoad, entity: EntityConfiguration, configuration: ReaderConfiguration) {
        let (expired, skip) = state.withLock { state in
            let expired = Self.removeExpired(&state, lifetime: lifetime)
            let skip =
                state.entries[file] != nil || state.rows >= rowLimit || state.entries.count >= fileLimit
            return (expired, skip)
        }
        // Released here, outside the lock: closing files and freeing records takes a while.
        _ = consume expired
        guard !skip, let snapshot = try? FileSnapshot(path: file.path),
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

    /// Takes `file`'s entry, when held; otherwise remembers that the file was looked for, so
    /// that it is not held when it is prepared afterwards.
    func take(_ file: FileToLoad) -> Entry? {
        let (expired, entry) = state.withLock { state -> ([Entry], Entry?) in
            let expired = Self.removeExpired(&state, lifetime: lifetime)
            guard let entry = state.entries.removeValue(forKey: file) else {
                if state.missed.count >= Self.missedLimit { state.missed.removeAll() }
                state.missed.insert(file)
                return (expired, nil)
            }
            state.rows -= entry.rows
            state.taken += 1
            return (expired, entry)
        }
        _ = consume expired
        return entry
    }

    /// Removes the entries held longer than `lifetime` and returns them, to be released
    /// outside the lock.
    private static func removeExpired(_ state: inout State, lifetime: Duration) -> [Entry] {
        let now = ContinuousClock.now
        var expired: [Entry] = []
        for (key, entry) in state.entries where now - entry.preparedAt > lifetime {
            state.entries[key] = nil
            state.rows -= entry.rows
            expired.append(entry)
        }
        return expired
    }
}
