import FirnCore
import GRDB

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

    /// Creates zero counts.
    public init() {}

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

        // Which keys are in order: every new record later than everything staged before.
        let latest = try FastStatement(db, sql: schema.latestEventTime)
        for index in groups.indices {
            latest.bind(groups[index].key.values, from: 1)
            if try latest.step(), !latest.isNull(at: 0) {
                groups[index].isInOrder = latest.text(at: 0) < groups[index].from.description
            }
            latest.reset()
        }

        // Stage every record, in key order too (the staging index is by key).
        let insert = try FastStatement(db, sql: schema.insertRaw)
        let loadedText = loadedAt.description
        for group in groups {
            for index in group.indices {
                let record = records[index]
                insert.bind(record.arrival.load, at: 1)
                insert.bind(record.arrival.row, at: 2)
                var next = insert.bind(record.key.values, from: 3)
                next = insert.bind(record.attributes, from: next)
                insert.bind(record.eventTime.description, at: next)
                insert.bind(record.operation.rawValue, at: next + 1)
                insert.bind(sourceFile, at: next + 2)
                insert.bind(loadedText, at: next + 3)
                try insert.run()
            }
        }
        counts.staged = records.count

        // Reconcile each key.
        let reader = try VersionReader(schema: schema, db: db)
        let writer = try HistoryWriter(schema: schema, db: db)
        for group in groups {
            let existing: [Version]
            let replayed: [ChangeRecord]
            if group.isInOrder {
                counts.inOrderKeys += 1
                existing = try reader.lastOpenVersion(of: group.key)
                replayed = group.indices.map { records[$0] }
            } else {
                counts.recomputedKeys += 1
                existing = try reader.versions(of: group.key, endingFrom: group.from)
                replayed = try reader.stagedRecords(of: group.key, from: group.from)
            }
            let changes = SlowlyChangingHistory.reconcile(
                key: group.key,
                existing: existing,
                records: replayed,
                from: group.from
            )
            try writer.write(changes, forceCurrent: forceCurrent, counts: &counts)
        }
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
    }
}

/// Reads a key's stored versions and staged records.
struct VersionReader {
    let schema: EntitySchema
    let lastVersion: FastStatement
    let versionsEndingFrom: FastStatement
    let recordsFrom: FastStatement

    init(schema: EntitySchema, db: Database) throws {
        self.schema = schema
        lastVersion = try FastStatement(db, sql: schema.lastVersion)
        versionsEndingFrom = try FastStatement(db, sql: schema.versionsEndingFrom)
        recordsFrom = try FastStatement(db, sql: schema.recordsFrom)
    }

    /// The key's open version, if its last version is open.
    func lastOpenVersion(of key: Key) throws -> [Version] {
        lastVersion.bind(key.values, from: 1)
        defer { lastVersion.reset() }
        guard try lastVersion.step() else { return [] }
        let version = makeVersion(key: key, lastVersion)
        return version.isCurrent ? [version] : []
    }

    /// The key's versions that end at or after `from`, or are open, oldest first.
    func versions(of key: Key, endingFrom from: Timestamp) throws -> [Version] {
        let next = versionsEndingFrom.bind(key.values, from: 1)
        versionsEndingFrom.bind(from.description, at: next)
        defer { versionsEndingFrom.reset() }
        var versions: [Version] = []
        while try versionsEndingFrom.step() { versions.append(makeVersion(key: key, versionsEndingFrom)) }
        return versions
    }

    /// The key's staged records with event time at or after `from`.
    func stagedRecords(of key: Key, from: Timestamp) throws -> [ChangeRecord] {
        let next = recordsFrom.bind(key.values, from: 1)
        recordsFrom.bind(from.description, at: next)
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
    let upsertCurrent: FastStatement
    let deleteCurrent: FastStatement

    init(schema: EntitySchema, db: Database) throws {
        insertVersion = try FastStatement(db, sql: schema.insertVersion)
        updateVersion = try FastStatement(db, sql: schema.updateVersion)
        endVersion = try FastStatement(db, sql: schema.endVersion)
        deleteVersion = try FastStatement(db, sql: schema.deleteVersion)
        upsertCurrent = try FastStatement(db, sql: schema.upsertCurrent)
        deleteCurrent = try FastStatement(db, sql: schema.deleteCurrent)
    }

    func write(_ changes: HistoryChanges, forceCurrent: Bool, counts: inout ApplyCounts) throws {
        for version in changes.deleted {
            let next = deleteVersion.bind(version.key.values, from: 1)
            deleteVersion.bind(version.start.description, at: next)
            try deleteVersion.run()
            counts.versionsRemoved += 1
        }
        for version in changes.updated {
            var next = updateVersion.bind(version.attributes, from: 1)
            next = bindEnd(updateVersion, version, at: next)
            next = updateVersion.bind(version.key.values, from: next)
            updateVersion.bind(version.start.description, at: next)
            try updateVersion.run()
        }
        for version in changes.ended {
            var next = bindEnd(endVersion, version, at: 1)
            next = endVersion.bind(version.key.values, from: next)
            endVersion.bind(version.start.description, at: next)
            try endVersion.run()
        }
        for version in changes.inserted {
            var next = insertVersion.bind(version.key.values, from: 1)
            next = insertVersion.bind(version.attributes, from: next)
            insertVersion.bind(version.start.description, at: next)
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
        case .upsert(let version):
            var next = upsertCurrent.bind(version.key.values, from: 1)
            next = upsertCurrent.bind(version.attributes, from: next)
            upsertCurrent.bind(version.start.description, at: next)
            try upsertCurrent.run()
            counts.currentUpserted += 1
        case .delete(let key):
            deleteCurrent.bind(key.values, from: 1)
            try deleteCurrent.run()
            counts.currentDeleted += 1
        }
    }

    /// Binds `end_time` and `is_current`; returns the next parameter index.
    private func bindEnd(_ statement: FastStatement, _ version: Version, at index: Int32) -> Int32 {
        if let end = version.end {
            statement.bind(end.description, at: index)
            statement.bind(0, at: index + 1)
        } else {
            statement.bind(BatchApplier.openEndText, at: index)
            statement.bind(1, at: index + 1)
        }
        return index + 2
    }
}
