import FirnCore
import Foundation

/// What the writer knows about a key without reading the database: the latest event time
/// staged for it and its open version (with its attributes).
public struct KeyState: Sendable {
    /// The latest event time of any staged record of the key.
    public var latest: Timestamp
    /// The key's open version, or `nil` when it has none.
    public var open: Version?

    /// Creates a key state.
    public init(latest: Timestamp, open: Version?) {
        self.latest = latest
        self.open = open
    }
}

/// The state of recently written keys, kept by the process that wrote them, so that applying
/// a batch of in-order records reads nothing back (no staged-time or last-version probes).
///
/// It is an optimisation only: every entry equals what the database holds (or what the
/// current write transaction has made it hold), or the entry is gone. The writer updates it
/// as it applies a batch, inside its write transaction; a transaction that fails to commit
/// must clear everything (``clear()``). At the start of each write transaction the backend
/// passes a token that changes whenever another connection committed (SQLite's
/// `PRAGMA data_version`) to ``validate(version:)``: when it differs, everything is dropped.
/// User SQL must clear it too. Past ``States/capacity`` keys it lets go of every key it holds
/// and starts again empty (complete states stay complete: see ``EvictedKeys``).
///
/// When it began on a warehouse with no history and no unchanged records, or was filled with
/// every key's state read at once (a *warm-up*, see ``States/wantsWarmUp(records:)``), and has
/// lost nothing since (no other writer, no eviction, no manual SQL), it holds every key that
/// has a state: it is *complete*, and a key it does not hold has never been seen, so even new
/// keys need no probe. That is the common case of one `firn run` owning its warehouse, and of a
/// new `firn load` process once its first large batch has warmed the states up. Complete
/// states that reach their capacity remember which keys they let go of (``EvictedKeys``): those
/// are probed again, and a key among neither was never seen, so new keys still need no probe
/// however many keys the warehouse holds (up to ``EvictedKeys/maximumEvictions`` evictions).
///
/// `@unchecked Sendable`: all state is guarded by `lock`. Only the connection holding the
/// database's writer uses it, so the lock is never contended.
public final class KeyStateCache: @unchecked Sendable {
    private let lock = NSLock()
    private var states: States
    private var dataVersion: Int64?

    /// The keys remembered unless configured otherwise: about 60 MiB of states for the
    /// customer entity.
    public static let defaultCapacity = 200_000

    /// Creates an empty cache of at most `capacity` keys (`0` keeps none).
    public init(capacity: Int) {
        states = States(capacity: capacity)
    }

    /// The most keys remembered at once (`0`: none, every key is probed).
    public var capacity: Int { lock.withLock { states.capacity } }

    deinit {
        // Up to hundreds of thousands of keys' states, millions of allocations: freed on another
        // thread, so whoever lets go of the warehouse (`firn load` about to exit) need not wait.
        var taken = States(capacity: 0)
        swap(&taken, &states)
        releaseElsewhere(taken)
    }

    /// The key states, for one batch at a time.
    public struct States: Sendable {
        private var entries: [Key: KeyState] = [:]
        /// Keys another writer changed since the states were complete: not known, even though
        /// the states are complete (see ``forget(_:)``).
        private var forgotten: Set<Key> = []
        /// Keys let go of at the capacity since the states were complete: not known either.
        public private(set) var evicted = EvictedKeys()
        /// The most keys kept; `0` keeps none.
        public let capacity: Int
        /// Whether every key with a state is here, or among the keys forgotten since (see
        /// ``KeyStateCache``).
        public private(set) var isComplete = false
        /// Keys probed in the database since the states were last complete or emptied.
        public private(set) var probedKeys = 0
        /// Whether a warm-up found more keys than ``warmUpLimit``: the states are not warmed up
        /// again (keys are only ever added).
        public private(set) var isWarmUpDeclined = false

        /// Empty states of at most `capacity` keys.
        public init(capacity: Int) {
            self.capacity = capacity
        }

        /// Whether no key is held.
        public var isEmpty: Bool { entries.isEmpty }

        /// A key's state, if held.
        public subscript(key: Key) -> KeyState? { entries[key] }

        /// What the states know of a key: its state if held; when it is not held, the states
        /// are complete and it was not forgotten, the state of a key never seen (no version,
        /// nothing staged); else `nil` (it must be read from the database).
        public func known(_ key: Key) -> KeyState? {
            if let state = entries[key] { return state }
            guard isComplete, forgotten.isEmpty || !forgotten.contains(key), !evicted.mightContain(key) else {
                return nil
            }
            return KeyState(latest: Timestamp(microseconds: .min), open: nil)
        }

        /// Records a key's state as of the running transaction. At the capacity, every key held
        /// is let go of first: complete states remember which (``evicted``) and stay complete,
        /// unless they already let go of ``EvictedKeys/maximumEvictions`` times.
        public mutating func store(_ state: KeyState, for key: Key) {
            guard capacity > 0 else { return }
            if entries.count >= capacity {
                if isComplete, !evicted.isFull {
                    evicted.insert(entries.keys)
                } else {
                    setComplete(false)
                }
                entries.removeAll(keepingCapacity: true)
                probedKeys = 0
            }
            entries[key] = state
            if !forgotten.isEmpty { forgotten.remove(key) }
        }

        /// The most keys a warm-up reads: half the capacity, so that the states can grow
        /// after it before they start again empty.
        public var warmUpLimit: Int { capacity / 2 }

        /// Whether the backend should read every key's state before it applies a batch of
        /// `records` (and then ``complete(with:)``): when the states are incomplete, a warm-up
        /// was not declined, and the keys probed since they were emptied, with this batch, reach
        /// an eighth of the capacity. A warm-up reads at most ``warmUpLimit`` keys in key order,
        /// which costs less per key than probing them at random; after it, every key is known
        /// without a probe (new keys too, as the states are complete). So a process that loads
        /// a large file warms up on its first batch, and one that applies small files probes
        /// until it has probed an eighth of the capacity's keys.
        public func wantsWarmUp(records: Int) -> Bool {
            capacity > 0 && !isComplete && !isWarmUpDeclined && probedKeys + records >= max(1, capacity / 8)
        }

        /// Counts keys probed in the database (see ``wantsWarmUp(records:)``).
        public mutating func countProbes(_ keys: Int) {
            probedKeys += keys
        }

        /// Replaces the states with every key's state, read in the running transaction: they are
        /// complete. At most ``warmUpLimit`` entries.
        public mutating func complete(with every: [Key: KeyState]) {
            precondition(every.count <= warmUpLimit, "a warm-up read more keys than its limit")
            entries = every
            setComplete(true)
            probedKeys = 0
        }

        /// Records that a warm-up found more than ``warmUpLimit`` keys.
        public mutating func declineWarmUp() {
            isWarmUpDeclined = true
        }

        /// Marks the (empty) states complete: the warehouse has no key with a state.
        public mutating func beginComplete() {
            precondition(entries.isEmpty)
            setComplete(true)
        }

        /// Forgets these keys (another writer changed them): they are read from the database
        /// when next needed. Complete states stay complete while they have forgotten fewer keys
        /// than their capacity.
        public mutating func forget(_ keys: some Sequence<Key>) {
            for key in keys {
                entries[key] = nil
                if isComplete { forgotten.insert(key) }
            }
            if forgotten.count > capacity { setComplete(false) }
        }

        /// Starts (or ends) completeness afresh: no key forgotten or let go of since. States
        /// that keep nothing are never complete.
        private mutating func setComplete(_ complete: Bool) {
            isComplete = complete && capacity > 0
            forgotten = []
            evicted = EvictedKeys()
        }

        /// Forgets every key.
        public mutating func removeAll() {
            entries.removeAll(keepingCapacity: false)
            setComplete(false)
            probedKeys = 0
        }
    }

    /// Drops everything when `version` (a token that changes when another connection commits)
    /// differs from the one seen last.
    public func validate(dataVersion version: Int64) {
        lock.withLock {
            if dataVersion != version {
                states.removeAll()
                dataVersion = version
            }
        }
    }

    /// Runs `body` with the states (call only while holding the database's writer).
    public func withStates<T>(_ body: (inout States) throws -> T) rethrows -> T {
        try lock.withLock { try body(&states) }
    }

    /// Takes the states out for one write transaction of a backend whose writers count every
    /// commit that changes the entity's tables (PostgreSQL's epoch row), with the count they
    /// were checked in at (`nil` when there is none): the caller must ``States/forget(_:)``
    /// every key committed since by others, or drop them all. The cache is empty until
    /// ``checkIn(_:count:)``: a transaction that fails checks nothing in, and its changes to
    /// the states are dropped with it.
    public func checkOut() -> (states: States, count: Int64?) {
        lock.withLock {
            let capacity = states.capacity
            defer {
                states = States(capacity: capacity)
                dataVersion = nil
            }
            return (states, dataVersion)
        }
    }

    /// Puts the states back after their transaction committed as number `count` (see
    /// ``checkOut()``), replacing whatever is there.
    public func checkIn(_ checkedOut: consuming States, count: Int64) {
        lock.withLock {
            states = checkedOut
            dataVersion = count
        }
    }

    /// Forgets everything (a transaction failed, or user SQL ran).
    public func clear() {
        lock.withLock {
            states.removeAll()
            dataVersion = nil
        }
    }
}
