import FirnCore

/// The part of applying a batch that is not storage, shared by every backend: grouping the
/// records by key, the in-order test, the changes of in-order keys over their open version,
/// and the replay of keys with late records.
///
/// A backend applies a batch in one transaction as follows (see the SQLite warehouse's
/// `BatchApplier`):
/// 1. ``KnownKeys/work(records:)`` groups the batch by key and works out what the remembered
///    key states (``KeyStateCache``) tell, on another thread while the backend stages the
///    records;
/// 2. the backend probes the groups the states did not know (``KeyGroup/isKnown`` false): is
///    every new record later than every record of the key that counted before
///    (``KeyGroup/isInOrder``), and what is its open version (``KeyGroup/open``)?
/// 3. for an in-order key, its changes are ``KnownKeys/takeChanges(at:)`` or
///    ``BatchPlan/reconcileInOrder(group:records:order:policy:)``; for any other, the backend
///    reads the key's versions ending at or after ``KeyGroup/from``, moves back to
///    ``BatchPlan/replayStart(existing:from:policy:)`` (reading versions again if it moved),
///    reads its unchanged records from then on, and
///    ``BatchPlan/replay(key:existing:unchanged:records:from:policy:)`` gives the changes;
/// 4. the backend writes the changes and stores each key's new state.
///
/// So history is a pure function of the records, whatever the backend: only step 2 and the
/// reads and writes of steps 3 and 4 touch storage.
public enum BatchPlan {
    /// Positions of `records` ordered by key, then position.
    public static func keyOrder(_ records: [ChangeRecord]) -> [Int] {
        var pairs: [(key: Int64, position: Int)] = []
        pairs.reserveCapacity(records.count)
        for (position, record) in records.enumerated() {
            guard let key = record.key.integer else {
                return records.indices.sorted { left, right in
                    let (a, b) = (records[left].key, records[right].key)
                    return a != b ? a < b : left < right
                }
            }
            pairs.append((key, position))
        }
        pairs.sort { $0.key != $1.key ? $0.key < $1.key : $0.position < $1.position }
        return pairs.map(\.position)
    }

    /// One group per key, from positions in key order.
    public static func groups(_ records: [ChangeRecord], order: [Int]) -> [KeyGroup] {
        var groups: [KeyGroup] = []
        records.withUnsafeBufferPointer { records in
            var start = 0
            while start < order.count {
                let key = records[order[start]].key
                var from = records[order[start]].eventTime
                var end = start + 1
                while end < order.count, records[order[end]].key == key {
                    let time = records[order[end]].eventTime
                    if time < from { from = time }
                    end += 1
                }
                groups.append(KeyGroup(key: key, from: from, range: start..<end))
                start = end
            }
        }
        return groups
    }

    /// An in-order key's changes over its open version, and its latest new event time.
    public static func reconcileInOrder(
        group: KeyGroup,
        records: [ChangeRecord],
        order: [Int],
        policy: HistoryPolicy
    ) -> (HistoryChanges, Timestamp) {
        let range = group.range
        if range.count == 1 {
            let record = records[order[range.lowerBound]]
            return (
                SlowlyChangingHistory.reconcileOne(key: group.key, open: group.open, record: record, policy: policy),
                record.eventTime
            )
        }
        let replayed = range.map { records[order[$0]] }
        let latest = replayed.lazy.map(\.eventTime).max()!
        let changes = SlowlyChangingHistory.reconcile(
            key: group.key,
            existing: group.open.map { [$0] } ?? [],
            records: replayed,
            from: group.from,
            policy: policy
        )
        return (changes, latest)
    }

    /// Where a key with late records is replayed from: `from`, or when versions update in
    /// place (``HistoryPolicy/updatesInPlace``) the start of the version in force at `from`,
    /// since a stored version's attributes are its latest, not those in force at `from`.
    /// When it is earlier than `from`, the backend reads the versions ending at or after it
    /// (which adds the version that ended where it starts, the state in force before it).
    ///
    /// - Parameter existing: The key's versions that end at or after `from` (or are open), by start.
    public static func replayStart(existing: [Version], from: Timestamp, policy: HistoryPolicy) -> Timestamp {
        guard policy.updatesInPlace, let first = existing.first, first.start < from else { return from }
        return first.start
    }

    /// A key with late records: every record of it that counts from `from` on (the version
    /// boundaries in `existing`, its stored `unchanged` records and the new `records`) replayed
    /// in order. Returns the changes and the latest event time among the replayed records.
    ///
    /// - Parameters:
    ///   - existing: The key's versions that end at or after `from` (or are open), by start.
    ///   - unchanged: The key's stored records from `from` on that the versions do not
    ///     reproduce (``HistoryChanges/unchanged``). One at a version's start is a later
    ///     arrival than the boundary's record, so it is the one that counts.
    ///   - records: The batch's records of the key.
    ///   - from: The earliest event time among `records`, or ``replayStart(existing:from:policy:)``.
    public static func replay(
        key: Key,
        existing: [Version],
        unchanged: [ChangeRecord],
        records: [ChangeRecord],
        from: Timestamp,
        policy: HistoryPolicy
    ) -> (HistoryChanges, Timestamp) {
        let replayed = SlowlyChangingHistory.countingRecords(of: existing, from: from) + unchanged + records
        let changes = SlowlyChangingHistory.reconcile(
            key: key, existing: existing, records: replayed, from: from, policy: policy
        )
        return (changes, replayed.lazy.map(\.eventTime).max()!)
    }
}

/// One key's records in a batch.
public struct KeyGroup: Sendable {
    /// The key.
    public var key: Key
    /// The earliest event time among them.
    public var from: Timestamp
    /// Their positions in the key order of the batch.
    public var range: Range<Int>
    /// Whether they are all later than every record of the key that counted before.
    public var isInOrder = true
    /// For an in-order key, its open version before the batch.
    public var open: Version?
    /// Whether ``isInOrder`` and ``open`` came from the remembered key states.
    public var isKnown = false

    /// A group not yet probed: in order, no open version, not known.
    public init(key: Key, from: Timestamp, range: Range<Int>) {
        self.key = key
        self.from = from
        self.range = range
    }
}

/// What the remembered key states tell about a batch's keys, worked out on another thread
/// while the writer stages the batch: which keys they know, whether those are in order, their
/// open versions and, for in-order ones, their changes.
///
/// `@unchecked Sendable`: one thread writes it (``work(records:)``) and signals; the writer
/// reads it only after that.
public final class KnownKeys: @unchecked Sendable {
    /// Positions of the batch's records in key order.
    public private(set) var order: [Int] = []
    private(set) var groups: [KeyGroup] = []
    /// For each in-order known key, its changes and its latest new event time.
    private(set) var changes: [(HistoryChanges, Timestamp)?] = []
    /// Keys whose state was remembered.
    public private(set) var cachedKeys = 0
    /// Seconds spent grouping (a part of the time the writer stages).
    public private(set) var groupSeconds = 0.0
    private var states: KeyStateCache.States
    private let policy: HistoryPolicy

    /// Works from a copy of the states, under the entity's policy.
    public init(states: KeyStateCache.States, policy: HistoryPolicy) {
        self.states = states
        self.policy = policy
    }

    /// Moves out the changes worked out for group `index` (without copying them).
    public func takeChanges(at index: Int) -> (HistoryChanges, Timestamp)? {
        changes[index].take()
    }

    /// Hands the groups over (so that the writer's changes to them copy nothing).
    public func takeGroups() -> [KeyGroup] {
        defer { groups = [] }
        return groups
    }

    /// Takes the groups back, to be freed with the rest.
    public func keep(_ groups: [KeyGroup]) {
        self.groups = groups
    }

    /// Frees `groups` (handed back by the writer) and the changes on another thread, off the
    /// writer's path (see ``releaseElsewhere(_:)``): they are a few small allocations per key.
    public func releaseElsewhere(_ groups: consuming [KeyGroup]) {
        var changes: [(HistoryChanges, Timestamp)?] = []
        swap(&changes, &self.changes)
        self.groups = []
        FirnWarehouse.releaseElsewhere((consume groups, consume changes))
    }

    /// Drops the states (so that the writer's copy, which it goes on to change, is the only one).
    public func releaseStates() {
        states = KeyStateCache.States(capacity: 0)
    }

    /// Groups `records` and works out what the states know.
    public func work(records: [ChangeRecord]) {
        let clock = ContinuousClock()
        let start = clock.now
        order = BatchPlan.keyOrder(records)
        groups = BatchPlan.groups(records, order: order)
        groupSeconds = (clock.now - start).seconds
        changes = Array(repeating: nil, count: groups.count)
        for index in groups.indices {
            // A key the complete states do not hold (and did not forget) has never been seen.
            guard let state = states.known(groups[index].key) else { continue }
            cachedKeys += 1
            groups[index].isKnown = true
            groups[index].isInOrder = state.latest < groups[index].from
            groups[index].open = state.open
            if groups[index].isInOrder {
                changes[index] = BatchPlan.reconcileInOrder(
                    group: groups[index], records: records, order: order, policy: policy
                )
            }
        }
    }
}
