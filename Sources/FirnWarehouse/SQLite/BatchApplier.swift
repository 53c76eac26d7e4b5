import FirnCore
import GRDB

/// Where a batch's time went, in seconds.
public struct ApplyTimings: Sendable {
    /// Grouping and sorting the batch in memory.
    public var group = 0.0
    /// Probing keys whose state the writer did not remember.
    public var probe = 0.0
    /// Inserting the records into staging.
    public var stage = 0.0
    /// Reconciling each key and writing history and SCD1.
    public var write = 0.0
    /// Committing (WAL write and fsync), measured by the caller around the commit.
    public var commit = 0.0

    /// Zero timings.
    public init() {}
}

/// What applying a batch of records did.
public struct ApplyCounts: Sendable, Hashable {
    /// Records written to staging.
    public var staged = 0
    /// History versions inserted.
    public var versionsOpened = 0
    /// History versions closed (open → closed, or inserted closed).
    public var versionsClosed = 0
    /// History versions removed (superseded by a later arrival at the same event time).
    public var versionsRemoved = 0
    /// SCD1 rows inserted or updated.
    public var currentUpserted = 0
    /// SCD1 rows deleted.
    public var currentDeleted = 0
    /// Keys whose records arrived in event-time order (no recomputation of stored history).
    public var inOrderKeys = 0
    /// Keys with late or same-time records, whose history was recomputed from staging.
    public var recomputedKeys = 0
    /// Keys whose state came from the writer's memory instead of the database.
    public var cachedKeys = 0
    /// Where the time went. Measurements, not outcomes: they take no part in equality.
    public var timings = ApplyTimings()

    /// Creates zero counts.
    public init() {}

    /// Equal when the outcomes are equal; ``timings`` do not count.
    public static func == (lhs: ApplyCounts, rhs: ApplyCounts) -> Bool {
        (lhs.staged, lhs.versionsOpened, lhs.versionsClosed, lhs.versionsRemoved, lhs.currentUpserted)
            == (rhs.staged, rhs.versionsOpened, rhs.versionsClosed, rhs.versionsRemoved, rhs.currentUpserted)
            && (lhs.currentDeleted, lhs.inOrderKeys, lhs.recomputedKeys, lhs.cachedKeys)
                == (rhs.currentDeleted, rhs.inOrderKeys, rhs.recomputedKeys, rhs.cachedKeys)
    }

    public func hash(into hasher: inout Hasher) {
        for value in [
            staged, versionsOpened, versionsClosed, versionsRemoved, currentUpserted, currentDeleted, inOrderKeys,
            recomputedKeys, cachedKeys,
        ] {
            hasher.combine(value)
        }
    }

    /// Adds another batch's counts.
    public static func += (lhs: inout ApplyCounts, rhs: ApplyCounts) {
        lhs.staged += rhs.staged
        lhs.versionsOpened += rhs.versionsOpened
        lhs.versionsClosed += rhs.versionsClosed
        lhs.versionsRemoved += rhs.versionsRemoved
        lhs.currentUpserted += rhs.currentUpserted
        lhs.currentDeleted += rhs.currentDeleted
        lhs.inOrderKeys += rhs.inOrderKeys
        lhs.recomputedKeys += rhs.recomputedKeys
        lhs.cachedKeys += rhs.cachedKeys
        lhs.timings.group += rhs.timings.group
        lhs.timings.probe += rhs.timings.probe
        lhs.timings.stage += rhs.timings.stage
        lhs.timings.write += rhs.timings.write
        lhs.timings.commit += rhs.timings.commit
    }
}

/// Applies a batch of records inside the caller's write transaction: staging rows in, then
/// each affected key's history and SCD1 row reconciled by ``SlowlyChangingHistory``.
///
/// A key whose new records are all later than every staged record of that key (the common,
/// in-order case) needs only its last stored version. Otherwise (late records, equal event
/// times) the key's versions and staged records from the batch's earliest event time on are
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
    ///   - records: The batch, each with its arrival already set.
    ///   - sourceFile: The `source_file` written to staging.
    ///   - loadedAt: The `loaded_at` written to staging.
    ///   - forceCurrent: Write every affected key's SCD1 row from its open version even if
    ///     history did not change (used for manual DML, which edits SCD1 directly).
    func apply(
        _ records: [ChangeRecord],
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
                insert.bind(record.arrival.load, at: 1)
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

/// Reads a key's stored versions and staged records.
struct VersionReader {
    let schema: EntitySchema
    let versionsEndingFrom: FastStatement
    let recordsFrom: FastStatement

    init(schema: EntitySchema, db: Database) throws {
        self.schema = schema
        versionsEndingFrom = try FastStatement(db, sql: schema.versionsEndingFrom)
        recordsFrom = try FastStatement(db, sql: schema.unchangedRecordsFrom)
    }

    /// The key's versions that end at or after `from`, or are open, oldest first.
    func versions(of key: Key, endingFrom from: Timestamp) throws -> [Version] {
        let next = versionsEndingFrom.bind(key, from: 1)
        versionsEndingFrom.bind(from, at: next)
        defer { versionsEndingFrom.reset() }
        var versions: [Version] = []
        while try versionsEndingFrom.step() { versions.append(makeVersion(key: key, versionsEndingFrom)) }
        return versions
    }

    /// The key's stored unchanged records with event time at or after `from`.
    func unchangedRecords(of key: Key, from: Timestamp) throws -> [ChangeRecord] {
        let next = recordsFrom.bind(key, from: 1)
        recordsFrom.bind(from, at: next)
        defer { recordsFrom.reset() }
        let width = Int32(schema.attributes.count)
        var records: [ChangeRecord] = []
        while try recordsFrom.step() {
            records.append(
                ChangeRecord(
                    key: key,
                    eventTime: recordsFrom.timestamp(at: width) ?? Timestamp(microseconds: 0),
                    operation: recordsFrom.text(at: width + 1) == Operation.delete.rawValue ? .delete : .upsert,
                    attributes: (0..<width).map { recordsFrom.value(at: $0) },
                    arrival: Arrival(load: recordsFrom.int64(at: width + 2), row: recordsFrom.int64(at: width + 3))
                )
            )
        }
        return records
    }

    /// A version from a row of attributes, `start_time`, `end_time`.
    private func makeVersion(key: Key, _ row: FastStatement) -> Version {
        let width = Int32(schema.attributes.count)
        let end = row.text(at: width + 1)
        return Version(
            key: key,
            attributes: (0..<width).map { row.value(at: $0) },
            start: row.timestamp(at: width) ?? Timestamp(microseconds: 0),
            end: end == BatchApplier.openEndText ? nil : Timestamp(canonical: end)
        )
    }
}

/// Writes one key's ``HistoryChanges`` to the history and SCD1 tables.
struct HistoryWriter {
    let insertVersion: FastStatement
    let updateVersion: FastStatement
    let endVersion: FastStatement
    let deleteVersion: FastStatement
    let attributeCount: Int
    let versionRows: BufferedUpsert
    let currentRows: BufferedUpsert
    let insertUnchanged: FastStatement
    let deleteUnchangedFrom: FastStatement
    let upsertCurrent: FastStatement
    let insertCurrent: FastStatement
    let updateCurrent: FastStatement
    let deleteCurrent: FastStatement

    init(schema: EntitySchema, db: Database) throws {
        insertVersion = try FastStatement(db, sql: schema.insertVersion)
        updateVersion = try FastStatement(db, sql: schema.updateVersion)
        endVersion = try FastStatement(db, sql: schema.endVersion)
        deleteVersion = try FastStatement(db, sql: schema.deleteVersion)
        attributeCount = schema.attributes.count
        versionRows = schema.bufferedVersions(db)
        currentRows = schema.bufferedCurrent(db)
        insertUnchanged = try FastStatement(db, sql: schema.insertUnchanged)
        deleteUnchangedFrom = try FastStatement(db, sql: schema.deleteUnchangedFrom)
        upsertCurrent = try FastStatement(db, sql: schema.upsertCurrent)
        insertCurrent = try FastStatement(db, sql: schema.insertCurrent)
        updateCurrent = try FastStatement(db, sql: schema.updateCurrent)
        deleteCurrent = try FastStatement(db, sql: schema.deleteCurrent)
    }

    /// - Parameters:
    ///   - hadOpenVersion: Whether the key had an open version before (so an SCD1 row).
    ///   - replacingUnchangedFrom: For a recomputed key, the time from which its stored
    ///     unchanged records are replaced by ``HistoryChanges/unchanged``; `nil` adds them.
    func write(
        _ changes: HistoryChanges,
        hadOpenVersion: Bool,
        replacingUnchangedFrom: Timestamp?,
        forceCurrent: Bool,
        counts: inout ApplyCounts
    ) throws {
        if replacingUnchangedFrom == nil, changes.updated.isEmpty, changes.deleted.isEmpty, !forceCurrent {
            // The in-order case: new versions and ends of stored ones, batched.
            for version in changes.ended { try versionRows.append(.version(version)) }
            for version in changes.inserted { try versionRows.append(.version(version)) }
            counts.versionsOpened += changes.inserted.count
            counts.versionsClosed += changes.closedCount
            try writeUnchanged(changes)
            switch changes.current {
            case .unchanged:
                break
            case .upsert(let version):
                try currentRows.append(.current(version))
                counts.currentUpserted += 1
            case .delete(let key):
                deleteCurrent.bind(key, from: 1)
                try deleteCurrent.run()
                counts.currentDeleted += 1
            }
            return
        }
        try flush()
        if let from = replacingUnchangedFrom {
            let next = deleteUnchangedFrom.bind(changes.key, from: 1)
            deleteUnchangedFrom.bind(from, at: next)
            try deleteUnchangedFrom.run()
        }
        try writeUnchanged(changes)
        for version in changes.deleted {
            let next = deleteVersion.bind(version.key, from: 1)
            deleteVersion.bind(version.start, at: next)
            try deleteVersion.run()
            counts.versionsRemoved += 1
        }
        for version in changes.updated {
            var next = updateVersion.bind(version.attributes, from: 1)
            next = bindEnd(updateVersion, version, at: next)
            next = updateVersion.bind(version.key, from: next)
            updateVersion.bind(version.start, at: next)
            try updateVersion.run()
        }
        for version in changes.ended {
            var next = bindEnd(endVersion, version, at: 1)
            next = endVersion.bind(version.key, from: next)
            endVersion.bind(version.start, at: next)
            try endVersion.run()
        }
        for version in changes.inserted {
            var next = insertVersion.bind(version.key, from: 1)
            next = insertVersion.bind(version.attributes, from: next)
            insertVersion.bind(version.start, at: next)
            _ = bindEnd(insertVersion, version, at: next + 1)
            try insertVersion.run()
        }
        counts.versionsOpened += changes.inserted.count
        counts.versionsClosed += changes.closedCount
        var current = changes.current
        if forceCurrent, current == .unchanged {
            current = changes.open.map(CurrentChange.upsert) ?? .delete(changes.key)
        }
        switch current {
        case .unchanged:
            break
        case .upsert(let version) where !forceCurrent && hadOpenVersion:
            // SCD1 holds exactly the open versions (manual DML aside, hence forceCurrent).
            var next = updateCurrent.bind(version.attributes, from: 1)
            updateCurrent.bind(version.start, at: next)
            next += 1
            updateCurrent.bind(version.key, from: next)
            try updateCurrent.run()
            counts.currentUpserted += 1
        case .upsert(let version) where !forceCurrent:
            var next = insertCurrent.bind(version.key, from: 1)
            next = insertCurrent.bind(version.attributes, from: next)
            insertCurrent.bind(version.start, at: next)
            try insertCurrent.run()
            counts.currentUpserted += 1
        case .upsert(let version):
            var next = upsertCurrent.bind(version.key, from: 1)
            next = upsertCurrent.bind(version.attributes, from: next)
            upsertCurrent.bind(version.start, at: next)
            try upsertCurrent.run()
            counts.currentUpserted += 1
        case .delete(let key):
            deleteCurrent.bind(key, from: 1)
            try deleteCurrent.run()
            counts.currentDeleted += 1
        }
    }

    /// Writes buffered rows; call before the transaction commits.
    func flush() throws {
        try versionRows.flush()
        try currentRows.flush()
    }

    private func writeUnchanged(_ changes: HistoryChanges) throws {
        for record in changes.unchanged {
            var next = insertUnchanged.bind(record.key, from: 1)
            insertUnchanged.bind(record.eventTime, at: next)
            insertUnchanged.bind(record.operation.rawValue, at: next + 1)
            next = insertUnchanged.bind(record.attributes, from: next + 2, count: attributeCount)
            insertUnchanged.bind(record.arrival.load, at: next)
            insertUnchanged.bind(record.arrival.row, at: next + 1)
            try insertUnchanged.run()
        }
    }

    /// Binds `end_time` and `is_current`; returns the next parameter index.
    private func bindEnd(_ statement: FastStatement, _ version: Version, at index: Int32) -> Int32 {
        if let end = version.end {
            statement.bind(end, at: index)
            statement.bind(0, at: index + 1)
        } else {
            statement.bind(BatchApplier.openEndText, at: index)
            statement.bind(1, at: index + 1)
        }
        return index + 2
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
