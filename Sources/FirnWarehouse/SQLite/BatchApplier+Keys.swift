import Dispatch
import FirnCore
import GRDB

extension BatchApplier {
    /// Positions of `records` ordered by key, then position.
    static func keyOrder(_ records: [ChangeRecord]) -> [Int] {
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
    static func groups(_ records: [ChangeRecord], order: [Int]) -> [Group] {
        var groups: [Group] = []
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
                groups.append(Group(key: key, from: from, range: start..<end))
                start = end
            }
        }
        return groups
    }

    /// Sets ``Group/isInOrder`` and ``Group/open`` of each group the key states did not know,
    /// from the database.
    func probe(_ groups: inout [Group]) throws {
        let unchangedFrom = try FastStatement(db, sql: schema.unchangedFrom)
        let openVersion = try FastStatement(db, sql: schema.openVersionProbe)
        let lastClosed = try FastStatement(db, sql: schema.lastClosedProbe)
        let width = Int32(schema.attributes.count)
        for index in groups.indices where !groups[index].isKnown {
            let key = groups[index].key
            let from = groups[index].from
            // The open version is the SCD1 row, and the latest version; else the latest closed one.
            openVersion.bind(key, from: 1)
            if try openVersion.step() {
                let start = openVersion.timestamp(at: width)
                if let start, start < from {
                    groups[index].open = Version(
                        key: key,
                        attributes: (0..<width).map { openVersion.value(at: $0) },
                        start: start,
                        end: nil
                    )
                } else {
                    groups[index].isInOrder = false
                }
            } else {
                lastClosed.bind(key, from: 1)
                if try lastClosed.step(), let start = lastClosed.timestamp(at: 0) {
                    let end = lastClosed.timestamp(at: 1)
                    if start >= from || end.map({ $0 >= from }) != false { groups[index].isInOrder = false }
                }
                lastClosed.reset()
            }
            openVersion.reset()
            guard groups[index].isInOrder else { continue }
            // Records that changed nothing leave no version; they are kept apart.
            unchangedFrom.bind(from, at: 1)
            unchangedFrom.bind(key, from: 2)
            guard try unchangedFrom.step() else {
                throw WarehouseError.statementFailed(sql: schema.unchangedFrom, reason: "no row")
            }
            if !unchangedFrom.isNull(at: 0), unchangedFrom.int64(at: 0) == 1 {
                groups[index].isInOrder = false
                groups[index].open = nil
            }
            unchangedFrom.reset()
        }
    }

    /// One key's records in the batch.
    struct Group {
        var key: Key
        /// The earliest event time among them.
        var from: Timestamp
        /// Their positions in the key order of the batch.
        var range: Range<Int>
        /// Whether they are all later than every staged record of the key.
        var isInOrder = true
        /// For an in-order key, its open version before the batch.
        var open: Version?
        /// Whether ``isInOrder`` and ``open`` came from the remembered key states.
        var isKnown = false
    }
}

/// What the remembered key states tell about a batch's keys, worked out on another thread
/// while the writer stages the batch: which keys they know, whether those are in order, their
/// open versions and, for in-order ones, their changes.
///
/// `@unchecked Sendable`: one thread writes it (``work(records:)``)
/// and signals; the writer reads it only after that.
final class KnownKeys: @unchecked Sendable {
    /// Positions of the batch's records in key order.
    private(set) var order: [Int] = []
    private(set) var groups: [BatchApplier.Group] = []
    /// For each in-order known key, its changes and its latest new event time.
    private(set) var changes: [(HistoryChanges, Timestamp)?] = []
    private(set) var cachedKeys = 0
    /// Seconds spent grouping (a part of the time the writer stages).
    private(set) var groupSeconds = 0.0
    private var states: KeyStateCache.States

    init(states: KeyStateCache.States) {
        self.states = states
    }

    /// Moves out the changes worked out for group `index` (without copying them).
    func takeChanges(at index: Int) -> (HistoryChanges, Timestamp)? {
        changes[index].take()
    }

    /// Hands the groups over (so that the writer's changes to them copy nothing).
    func takeGroups() -> [BatchApplier.Group] {
        defer { groups = [] }
        return groups
    }

    /// Takes the groups back, to be freed with the rest.
    func keep(_ groups: [BatchApplier.Group]) {
        self.groups = groups
    }

    /// Drops the states (so that the writer's copy, which it goes on to change, is the only one).
    func releaseStates() {
        states = KeyStateCache.States(capacity: 0)
    }

    func work(records: [ChangeRecord]) {
        let clock = ContinuousClock()
        let start = clock.now
        order = BatchApplier.keyOrder(records)
        groups = BatchApplier.groups(records, order: order)
        groupSeconds = (clock.now - start).seconds
        changes = Array(repeating: nil, count: groups.count)
        for index in groups.indices {
            // A key the complete states do not hold has never been seen: in order, no version.
            let state =
                states[groups[index].key]
                ?? (states.isComplete ? KeyState(latest: Timestamp(microseconds: .min), open: nil) : nil)
            guard let state else { continue }
            cachedKeys += 1
            groups[index].isKnown = true
            groups[index].isInOrder = state.latest < groups[index].from
            groups[index].open = state.open
            if groups[index].isInOrder {
                changes[index] = Self.reconcileInOrder(group: groups[index], records: records, order: order)
            }
        }
    }

    /// An in-order key's changes over its open version, and its latest new event time.
    static func reconcileInOrder(
        group: BatchApplier.Group,
        records: [ChangeRecord],
        order: [Int]
    ) -> (HistoryChanges, Timestamp) {
        let range = group.range
        if range.count == 1 {
            let record = records[order[range.lowerBound]]
            return (
                SlowlyChangingHistory.reconcileOne(key: group.key, open: group.open, record: record), record.eventTime
            )
        }
        let replayed = range.map { records[order[$0]] }
        let latest = replayed.lazy.map(\.eventTime).max()!
        let changes = SlowlyChangingHistory.reconcile(
            key: group.key,
            existing: group.open.map { [$0] } ?? [],
            records: replayed,
            from: group.from
        )
        return (changes, latest)
    }
}
