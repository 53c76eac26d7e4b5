import FirnCore
import GRDB

/// Applies a batch of records inside the caller's write transaction: staging rows in, then
/// each affected key's history and SCD1 row reconciled by ``SlowlyChangingHistory``.
///
/// A key whose new records are all later than every record of it that counted before (the common,
/// in-order case) needs only its last stored version. Otherwise (late records, equal event
/// times) the records that counted from the batch's earliest event time on (rebuilt from history and the unchanged records) are
/// read back and replayed, which is what makes the result independent of arrival order and
/// batch size. Keys are processed in key order, so consecutive B-tree accesses fall on
/// neighbouring pages.
struct BatchApplier {
    let schema: EntitySchema
    let db: Database
    /// Known key states: keys found here are not probed.
    var cache: KeyStateCache?
    /// Collects the key states this batch produces, for the cache once the transaction commits.
    var updates: KeyStateUpdates?

    /// The stored open end, `9999-12-31 00:00:00.000000`.
    static let openEndText = Timestamp.openEnd.description

    /// - Parameters:
    ///   - records: The batch, each with its arrival already set (the applying chunk's
    ///     `firn_chunks` id, then its row).
    ///   - loadID: The load history id written to staging's `load_id`.
    ///   - sourceFile: The `source_file` written to staging.
    ///   - loadedAt: The `loaded_at` written to staging.
    ///   - forceCurrent: Write every affected key's SCD1 row from its open version even if
    ///     history did not change (used for manual DML, which edits SCD1 directly).
    func apply(
        _ records: [ChangeRecord],
        loadID: Int64,
        sourceFile: String,
        loadedAt: Timestamp,
        forceCurrent: Bool = false
    ) throws -> ApplyCounts {
        var counts = ApplyCounts()
        guard !records.isEmpty else { return counts }
        let clock = ContinuousClock()
        var mark = clock.now
        func lap() -> Double {
            let now = clock.now
            defer { mark = now }
            return (now - mark).seconds
        }

        // Group by key, then work in key order.
        var slots = [Key: Int](minimumCapacity: records.count)
        var groups: [Group] = []
        for (index, record) in records.enumerated() {
            if let slot = slots[record.key] {
                groups[slot].indices.append(index)
                if record.eventTime < groups[slot].from { groups[slot].from = record.eventTime }
            } else {
                slots[record.key] = groups.count
                groups.append(Group(key: record.key, from: record.eventTime, indices: [index]))
            }
        }
        groups.sort { $0.key < $1.key }

        counts.timings.group = lap()
        // Probe each key: are its new records all later than every record of it that counted
        // before (in order), and what is its open version? Those records are the version
        // boundaries in history and the unchanged records kept beside it.
        let unchangedFrom = try FastStatement(db, sql: schema.unchangedFrom)
        let lastVersion = try FastStatement(db, sql: schema.lastVersionProbe)
        let attributeCount = schema.attributes.count
        for index in groups.indices {
            let key = groups[index].key
            // This transaction's own earlier changes (stream consumption) come before the cache.
            let known: KeyState? =
                if let pending = updates?.states[key] { pending } else { cache?.state(of: key) }
            if let state = known, (state.open?.attributes.count ?? attributeCount) == attributeCount {
                counts.cachedKeys += 1
                groups[index].isInOrder = state.latest < groups[index].from
                groups[index].open = state.open
                continue
            }
            let from = groups[index].from
            let first = groups[index].firstEffective(in: records)
            let next =
                first.operation == .upsert
                ? lastVersion.bind(first.attributes, from: 1) : 1 + Int32(schema.attributes.count)
            lastVersion.bind(key, from: next)
            if try lastVersion.step(), let start = lastVersion.timestamp(at: 0) {
                let isCurrent = lastVersion.int64(at: 2) == 1
                let end = isCurrent ? nil : lastVersion.timestamp(at: 1)
                if start >= from || end.map({ $0 >= from }) == true {
                    groups[index].isInOrder = false
                } else if isCurrent {
                    // The open version: its attributes equal the first record's, or are known to differ.
                    let same = first.operation == .upsert && lastVersion.int64(at: 3) == 1
                    groups[index].open = Version(
                        key: key,
                        attributes: same ? first.attributes : SlowlyChangingHistory.unknownAttributes,
                        start: start,
                        end: nil
                    )
                }
            }
            lastVersion.reset()
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

        counts.timings.probe = lap()
        // Stage every record: staging is an append-only log (no index by key).
        let insert = try FastStatement(db, sql: schema.insertRaw)
        let loadedText = loadedAt.description
        for group in groups {
            for index in group.indices {
                let record = records[index]
                insert.bind(loadID, at: 1)
                insert.bind(record.arrival.row, at: 2)
                var next = insert.bind(record.key, from: 3)
                next = insert.bind(record.attributes, from: next, count: attributeCount)
                insert.bind(record.eventTime, at: next)
                insert.bind(record.operation.rawValue, at: next + 1)
                insert.bind(sourceFile, at: next + 2)
                insert.bind(loadedText, at: next + 3)
                try insert.run()
            }
        }
        counts.staged = records.count
        counts.timings.stage = lap()

        // Reconcile each key.
        let reader = try VersionReader(schema: schema, db: db)
        let writer = try HistoryWriter(schema: schema, db: db)
        for group in groups {
            let existing: [Version]
            let replayed: [ChangeRecord]
            if group.isInOrder {
                counts.inOrderKeys += 1
                existing = group.open.map { [$0] } ?? []
                replayed = group.indices.map { records[$0] }
            } else {
                counts.recomputedKeys += 1
                existing = try reader.versions(of: group.key, endingFrom: group.from)
                replayed =
                    SlowlyChangingHistory.countingRecords(of: existing, from: group.from)
                    + (try reader.unchangedRecords(of: group.key, from: group.from))
                    + group.indices.map { records[$0] }
            }
            let changes = SlowlyChangingHistory.reconcile(
                key: group.key,
                existing: existing,
                records: replayed,
                from: group.from
            )
            try writer.write(
                changes,
                hadOpenVersion: existing.last?.isCurrent == true,
                replacingUnchangedFrom: group.isInOrder ? nil : group.from,
                forceCurrent: forceCurrent,
                counts: &counts
            )
            if let updates {
                // In order, the key's latest staged record is now its latest new one; after a
                // recomputation (or with attributes not read) the state is not known here.
                if group.isInOrder, (changes.open?.attributes.count ?? attributeCount) == attributeCount {
                    let latest = replayed.lazy.map(\.eventTime).max()!
                    updates.states[group.key] = KeyState(latest: latest, open: changes.open)
                } else {
                    updates.states.updateValue(nil, forKey: group.key)
                }
            }
        }
        try writer.flush()
        counts.timings.write = lap()
        return counts
    }

    /// One key's records in the batch.
    struct Group {
        var key: Key
        /// The earliest event time among them.
        var from: Timestamp
        /// Their positions in the batch.
        var indices: [Int]
        /// Whether they are all later than every staged record of the key.
        var isInOrder = true
        /// For an in-order key, its open version before the batch.
        var open: Version?

        /// The record that counts first in SCD order: of those at the earliest event time,
        /// the last arrival.
        func firstEffective(in records: [ChangeRecord]) -> ChangeRecord {
            var best = records[indices[0]]
            for index in indices.dropFirst() {
                let record = records[index]
                if record.eventTime < best.eventTime
                    || (record.eventTime == best.eventTime && best.arrival < record.arrival)
                {
                    best = record
                }
            }
            return best
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
