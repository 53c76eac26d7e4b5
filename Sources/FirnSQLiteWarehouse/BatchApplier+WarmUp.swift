import FirnCore
import FirnWarehouse
import GRDB

extension BatchApplier {
    /// Reads every key's state at once, in the running write transaction, and makes the states
    /// complete with it (see ``KeyStateCache/States/wantsWarmUp(records:)``); declines, leaving
    /// the states as they were, when the warehouse holds more keys than
    /// ``KeyStateCache/States/warmUpLimit``.
    ///
    /// Every statement is reset before it returns: one left part way through would keep the
    /// connection reading after the commit, and lock other writers out.
    ///
    /// Each key's state is what ``probe(_:)`` would find for it, so a batch applies the same
    /// way with either: the open version is the SCD1 row (its start `update_timestamp`; a row
    /// without one, which only manual SQL makes, is never in order); a key without one has its
    /// latest closed version's end as its latest time; records kept as unchanged count too.
    ///
    /// - Returns: The keys read, or `0` when it declined.
    func warmUp(_ states: inout KeyStateCache.States) throws -> Int {
        let limit = states.warmUpLimit
        let keyCount = Int32(schema.keys.count)
        func key(_ statement: FastStatement) -> Key {
            Key((0..<keyCount).map { statement.value(at: $0) })
        }
        func decline() -> Int {
            states.declineWarmUp()
            return 0
        }
        // Counting the SCD1 rows, up to the limit, costs a walk of its pages, not their decoding.
        let counting = try FastStatement(db, sql: "SELECT count(*) FROM (SELECT 1 FROM \(schema.current) LIMIT ?)")
        defer { counting.reset() }
        counting.bind(Int64(limit) + 1, at: 1)
        guard try counting.step(), counting.int64(at: 0) <= Int64(limit) else { return decline() }

        var every: [Key: KeyState] = [:]
        every.reserveCapacity(Int(counting.int64(at: 0)))
        // The open versions: the SCD1 rows.
        let width = Int32(schema.attributes.count)
        let open = try FastStatement(
            db,
            sql: "SELECT \(schema.keyList), \(schema.attributesThenComma)\(schema.eventTime) FROM \(schema.current)"
        )
        defer { open.reset() }
        while try open.step() {
            let key = key(open)
            guard let start = open.timestamp(at: keyCount + width) else {
                every[key] = KeyState(latest: Self.neverInOrder, open: nil)
                continue
            }
            let attributes = (keyCount..<(keyCount + width)).map { open.value(at: $0) }
            every[key] = KeyState(
                latest: start,
                open: Version(key: key, attributes: attributes, start: start, end: nil)
            )
        }
        // Keys with closed versions and no open one (deleted): their latest closed version. The
        // keys come from the index by key alone; only the deleted ones are looked up.
        let closedKeys = try FastStatement(db, sql: "SELECT DISTINCT \(schema.keyList) FROM \(schema.closed)")
        defer { closedKeys.reset() }
        let lastClosed = try FastStatement(db, sql: schema.lastClosedProbe)
        defer { lastClosed.reset() }
        while try closedKeys.step() {
            let key = key(closedKeys)
            guard every[key] == nil else { continue }
            guard every.count < limit else { return decline() }
            lastClosed.bind(key, from: 1)
            var latest = Timestamp(microseconds: .min)
            if try lastClosed.step(), let start = lastClosed.timestamp(at: 0) {
                latest = max(start, lastClosed.timestamp(at: 1) ?? Self.neverInOrder)
            }
            lastClosed.reset()
            every[key] = KeyState(latest: latest, open: nil)
        }
        // Records that changed nothing count for the in-order test, like versions' boundaries.
        let unchanged = try FastStatement(
            db,
            sql:
                "SELECT \(schema.keyList), max(\(schema.eventTime)) FROM \(schema.unchanged) GROUP BY \(schema.keyList)"
        )
        defer { unchanged.reset() }
        while try unchanged.step() {
            let key = key(unchanged)
            let latest = unchanged.timestamp(at: keyCount) ?? Self.neverInOrder
            if var state = every[key] {
                state.latest = max(state.latest, latest)
                every[key] = state
            } else {
                guard every.count < limit else { return decline() }
                every[key] = KeyState(latest: latest, open: nil)
            }
        }
        let count = every.count
        states.complete(with: every)
        return count
    }

    /// A latest time no record is after: the key is replayed from history whenever it changes.
    static let neverInOrder = Timestamp(microseconds: .max)
}
