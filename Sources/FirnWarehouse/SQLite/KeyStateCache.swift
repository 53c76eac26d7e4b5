import FirnCore
import Foundation

/// What the writer knows about a key without reading the database: the latest event time
/// staged for it and its open version (with its attributes).
struct KeyState: Sendable {
    /// The latest event time of any staged record of the key.
    var latest: Timestamp
    /// The key's open version, or `nil` when it has none.
    var open: Version?
}

/// The state of recently written keys, kept by the process that wrote them, so that applying
/// a batch of in-order records reads nothing back (no staged-time or last-version probes).
///
/// It is an optimisation only: every entry equals what the database holds, or the entry is
/// gone. Entries are written after the transaction that produced them commits; a failed
/// transaction clears everything. At the start of each write transaction the connection's
/// `PRAGMA data_version` is compared with the last one seen: if another connection (another
/// `firn` process) committed meanwhile, everything is dropped. SQL run through
/// ``SQLiteWarehouse/query(_:)`` in this process clears it too. Past ``capacity`` keys it
/// starts again empty.
///
/// `@unchecked Sendable`: all state is guarded by `lock`.
final class KeyStateCache: @unchecked Sendable {
    private let lock = NSLock()
    private var states: [Key: KeyState] = [:]
    private var dataVersion: Int64?
    /// The most keys kept.
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Drops everything when `dataVersion` differs from the one seen last.
    func validate(dataVersion version: Int64) {
        lock.withLock {
            if dataVersion != version {
                states.removeAll(keepingCapacity: true)
                dataVersion = version
            }
        }
    }

    func state(of key: Key) -> KeyState? {
        lock.withLock { states[key] }
    }

    /// Takes a committed transaction's updates (`nil` removes a key).
    func commit(_ updates: [Key: KeyState?]) {
        guard capacity > 0 else { return }
        lock.withLock {
            if states.count + updates.count > capacity { states.removeAll(keepingCapacity: false) }
            for (key, state) in updates { states[key] = state }
        }
    }

    func clear() {
        lock.withLock {
            states.removeAll(keepingCapacity: false)
            dataVersion = nil
        }
    }
}

/// The key states a transaction produced, for ``KeyStateCache/commit(_:)`` once it commits.
final class KeyStateUpdates {
    var states: [Key: KeyState?] = [:]
}
