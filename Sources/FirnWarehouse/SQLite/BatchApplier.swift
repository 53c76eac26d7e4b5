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
    /// Known key states: keys found here are not probed; the batch's results are stored in it.
    var cache: KeyStateCache?

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
        guard !records.isEmpty else { return ApplyCounts() }
        let batch = Batch(records: records, loadID: loadID, sourceFile: sourceFile, loadedAt: loadedAt)
        if let cache {
            return try cache.withStates { states in try apply(batch, forceCurrent: forceCurrent, states: &states) }
        }
        var none = KeyStateCache.States(capacity: 0)
        return try apply(batch, forceCurrent: forceCurrent, states: &none)
    }

    /// A batch and where its rows go in staging.
    struct Batch {
        var records: [ChangeRecord]
        var loadID: Int64
        var sourceFile: String
        var loadedAt: Timestamp
    }

    private func apply(
        _ batch: Batch,
        forceCurrent: Bool,
        states: inout KeyStateCache.States
    ) throws -> ApplyCounts {
        let records = batch.records
        var counts = ApplyCounts()
        let clock = ContinuousClock()
        var mark = clock.now
        func lap() -> Double {
            let now = clock.now
            defer { mark = now }
            return (now - mark).seconds
        }

        // Group by key, in key order (consecutive B-tree accesses fall on neighbouring pages).
        let order = Self.keyOrder(records)
        var groups = Self.groups(records, order: order)
        counts.timings.group = lap()

        // Probe each key: are its new records all later than every record of it that counted
        // before (in order), and what is its open version? Those records are the version
        // boundaries in history and the unchanged records kept beside it.
        try probe(&groups, records: records, order: order, states: states, counts: &counts)
        counts.timings.probe = lap()

        // Stage every record: staging is an append-only log (no index by key).
        let staging = StagingWriter(
            db: db,
            schema: schema,
            loadID: batch.loadID,
            sourceFile: batch.sourceFile,
            loadedAt: batch.loadedAt.description
        )
        for position in order { try staging.append(records[position]) }
        try staging.flush()
        counts.staged = records.count
        counts.timings.stage = lap()

        // Reconcile each key.
        let attributeCount = schema.attributes.count
        let reader = try VersionReader(schema: schema, db: db)
        let writer = try HistoryWriter(schema: schema, db: db)
        for index in groups.indices {
            let key = groups[index].key
            let range = groups[index].range
            let from = groups[index].from
            let changes: HistoryChanges
            let hadOpenVersion: Bool
            if groups[index].isInOrder {
                counts.inOrderKeys += 1
                let open = groups[index].open
                hadOpenVersion = open != nil
                var latest: Timestamp
                if range.count == 1 {
                    let record = records[order[range.lowerBound]]
                    latest = record.eventTime
                    changes = SlowlyChangingHistory.reconcileOne(key: key, open: open, record: record)
                } else {
                    let replayed = range.map { records[order[$0]] }
                    latest = replayed[0].eventTime
                    for record in replayed where latest < record.eventTime { latest = record.eventTime }
                    changes = SlowlyChangingHistory.reconcile(
                        key: key,
                        existing: open.map { [$0] } ?? [],
                        records: replayed,
                        from: from
                    )
                }
                try writer.write(
                    changes,
                    hadOpenVersion: hadOpenVersion,
                    replacingUnchangedFrom: nil,
                    forceCurrent: forceCurrent,
                    counts: &counts
                )
                // The key's latest staged record is now its latest new one (unless the open
                // version's attributes were not read).
                if (changes.open?.attributes.count ?? attributeCount) == attributeCount {
                    states.store(KeyState(latest: latest, open: changes.open), for: key)
                } else {
                    states.forget(key)
                }
            } else {
                counts.recomputedKeys += 1
                let existing = try reader.versions(of: key, endingFrom: from)
                let replayed =
                    SlowlyChangingHistory.countingRecords(of: existing, from: from)
                    + (try reader.unchangedRecords(of: key, from: from))
                    + range.map { records[order[$0]] }
                changes = SlowlyChangingHistory.reconcile(key: key, existing: existing, records: replayed, from: from)
                try writer.write(
                    changes,
                    hadOpenVersion: existing.last?.isCurrent == true,
                    replacingUnchangedFrom: from,
                    forceCurrent: forceCurrent,
                    counts: &counts
                )
                states.forget(key)
            }
        }
        try writer.flush()
        counts.timings.write = lap()
        return counts
    }

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

    /// Sets each group's ``Group/isInOrder`` and ``Group/open``, from the key states or the database.
    private func probe(
        _ groups: inout [Group],
        records: [ChangeRecord],
        order: [Int],
        states: KeyStateCache.States,
        counts: inout ApplyCounts
    ) throws {
        let unchangedFrom = try FastStatement(db, sql: schema.unchangedFrom)
        let lastVersion = try FastStatement(db, sql: schema.lastVersionProbe)
        let attributeCount = schema.attributes.count
        for index in groups.indices {
            let key = groups[index].key
            if let state = states[key], (state.open?.attributes.count ?? attributeCount) == attributeCount {
                counts.cachedKeys += 1
                groups[index].isInOrder = state.latest < groups[index].from
                groups[index].open = state.open
                continue
            }
            let from = groups[index].from
            let first = groups[index].firstEffective(in: records, order: order)
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

        /// The record that counts first in SCD order: of those at the earliest event time,
        /// the last arrival.
        func firstEffective(in records: [ChangeRecord], order: [Int]) -> ChangeRecord {
            var best = records[order[range.lowerBound]]
            for position in range.dropFirst() {
                let record = records[order[position]]
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
