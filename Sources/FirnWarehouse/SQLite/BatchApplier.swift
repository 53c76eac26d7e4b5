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
/// batch size.
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

        // Group by key, keeping first-seen order so that writes are deterministic.
        var slots = [Key: Int]()
        var groups: [(key: Key, from: Timestamp, records: [ChangeRecord])] = []
        for record in records {
            if let slot = slots[record.key] {
                groups[slot].records.append(record)
                if record.eventTime < groups[slot].from { groups[slot].from = record.eventTime }
            } else {
                slots[record.key] = groups.count
                groups.append((record.key, record.eventTime, [record]))
            }
        }

        // Which keys are in order: every new record later than everything staged before.
        let latest = try db.cachedStatement(sql: schema.latestEventTime)
        var inOrder = [Bool](repeating: true, count: groups.count)
        for (index, group) in groups.enumerated() {
            latest.setUncheckedArguments(StatementArguments(group.key.values.map(\.databaseValue)))
            if let stored = try String.fetchOne(latest), stored >= group.from.description {
                inOrder[index] = false
            }
        }

        // Stage every record.
        let insert = try db.cachedStatement(sql: schema.insertRaw)
        let loadedText = loadedAt.description
        for record in records {
            var arguments: [DatabaseValue] = [record.arrival.load.databaseValue, record.arrival.row.databaseValue]
            arguments.reserveCapacity(6 + record.key.values.count + record.attributes.count)
            for value in record.key.values { arguments.append(value.databaseValue) }
            for value in record.attributes { arguments.append(value.databaseValue) }
            arguments.append(record.eventTime.description.databaseValue)
            arguments.append(record.operation.rawValue.databaseValue)
            arguments.append(sourceFile.databaseValue)
            arguments.append(loadedText.databaseValue)
            insert.setUncheckedArguments(StatementArguments(arguments))
            try insert.execute()
        }
        counts.staged = records.count

        // Reconcile each key.
        let writer = try HistoryWriter(schema: schema, db: db)
        for (index, group) in groups.enumerated() {
            let existing: [Version]
            let replayed: [ChangeRecord]
            if inOrder[index] {
                counts.inOrderKeys += 1
                existing = try lastOpenVersion(of: group.key)
                replayed = group.records
            } else {
                counts.recomputedKeys += 1
                existing = try versions(of: group.key, endingFrom: group.from)
                replayed = try stagedRecords(of: group.key, from: group.from)
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

    private func lastOpenVersion(of key: Key) throws -> [Version] {
        let statement = try db.cachedStatement(sql: schema.lastVersion)
        statement.setUncheckedArguments(StatementArguments(key.values.map(\.databaseValue)))
        guard let row = try Row.fetchOne(statement) else { return [] }
        let version = makeVersion(key: key, row: row)
        return version.isCurrent ? [version] : []
    }

    private func versions(of key: Key, endingFrom from: Timestamp) throws -> [Version] {
        let statement = try db.cachedStatement(sql: schema.versionsEndingFrom)
        statement.setUncheckedArguments(
            StatementArguments(key.values.map(\.databaseValue) + [from.description.databaseValue])
        )
        return try Row.fetchAll(statement).map { makeVersion(key: key, row: $0) }
    }

    private func stagedRecords(of key: Key, from: Timestamp) throws -> [ChangeRecord] {
        let statement = try db.cachedStatement(sql: schema.recordsFrom)
        statement.setUncheckedArguments(
            StatementArguments(key.values.map(\.databaseValue) + [from.description.databaseValue])
        )
        let width = schema.attributes.count
        return try Row.fetchAll(statement).map { row in
            let attributes = (0..<width).map { row.value(at: $0) }
            let time: String = row[width]
            let op: String = row[width + 1]
            return ChangeRecord(
                key: key,
                eventTime: Timestamp(canonical: time) ?? Timestamp(microseconds: 0),
                operation: op == Operation.delete.rawValue ? .delete : .upsert,
                attributes: attributes,
                arrival: Arrival(load: row[width + 2], row: row[width + 3])
            )
        }
    }

    private func makeVersion(key: Key, row: Row) -> Version {
        let width = schema.attributes.count
        let start: String = row[width]
        let end: String = row[width + 1]
        return Version(
            key: key,
            attributes: (0..<width).map { row.value(at: $0) },
            start: Timestamp(canonical: start) ?? Timestamp(microseconds: 0),
            end: end == Self.openEndText ? nil : Timestamp(canonical: end)
        )
    }
}

/// Writes one key's ``HistoryChanges`` to the history and SCD1 tables.
struct HistoryWriter {
    let schema: EntitySchema
    let insertVersion: Statement
    let updateVersion: Statement
    let deleteVersion: Statement
    let upsertCurrent: Statement
    let deleteCurrent: Statement

    init(schema: EntitySchema, db: Database) throws {
        self.schema = schema
        insertVersion = try db.cachedStatement(sql: schema.insertVersion)
        updateVersion = try db.cachedStatement(sql: schema.updateVersion)
        deleteVersion = try db.cachedStatement(sql: schema.deleteVersion)
        upsertCurrent = try db.cachedStatement(sql: schema.upsertCurrent)
        deleteCurrent = try db.cachedStatement(sql: schema.deleteCurrent)
    }

    func write(_ changes: HistoryChanges, forceCurrent: Bool, counts: inout ApplyCounts) throws {
        for version in changes.deleted {
            try run(deleteVersion, version.key.values.map(\.databaseValue) + [version.start.description.databaseValue])
            counts.versionsRemoved += 1
        }
        for version in changes.updated {
            try run(
                updateVersion,
                version.attributes.map(\.databaseValue) + [
                    (version.end ?? .openEnd).description.databaseValue, (version.isCurrent ? 1 : 0).databaseValue,
                ] + version.key.values.map(\.databaseValue) + [version.start.description.databaseValue]
            )
        }
        for version in changes.inserted {
            try run(
                insertVersion,
                version.key.values.map(\.databaseValue) + version.attributes.map(\.databaseValue) + [
                    version.start.description.databaseValue, (version.end ?? .openEnd).description.databaseValue,
                    (version.isCurrent ? 1 : 0).databaseValue,
                ]
            )
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
            try run(
                upsertCurrent,
                version.key.values.map(\.databaseValue) + version.attributes.map(\.databaseValue) + [
                    version.start.description.databaseValue
                ]
            )
            counts.currentUpserted += 1
        case .delete(let key):
            try run(deleteCurrent, key.values.map(\.databaseValue))
            counts.currentDeleted += 1
        }
    }

    private func run(_ statement: Statement, _ arguments: [DatabaseValue]) throws {
        statement.setUncheckedArguments(StatementArguments(arguments))
        try statement.execute()
    }
}
