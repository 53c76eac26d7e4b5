import FirnCore
import FirnWarehouse
import GRDB

/// Reads a key's stored versions and unchanged records.
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
        versionsEndingFrom.bind(key, from: next + 1)
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

/// Writes one key's ``HistoryChanges``: closed versions to the closed-history table, the open
/// version as the key's SCD1 row (see `EntitySchema+History.swift`).
///
/// New closed versions and SCD1 rows are buffered (``BufferedWrite``) and written many per
/// statement; changes to stored closed versions, which only recomputed keys have, run at once.
/// Neither can meet the other: each key is written once per batch, and a stored version was
/// written by an earlier one.
struct HistoryWriter {
    let updateClosed: FastStatement
    let endClosed: FastStatement
    let deleteClosed: FastStatement
    let attributeCount: Int
    let closedRows: BufferedWrite
    let newCurrentRows: BufferedWrite
    let currentUpdates: BufferedWrite
    let insertUnchanged: FastStatement
    let deleteUnchangedFrom: FastStatement
    let deleteCurrent: FastStatement
    let insertLate: FastStatement

    init(schema: EntitySchema, db: Database) throws {
        updateClosed = try FastStatement(db, sql: schema.updateClosed)
        endClosed = try FastStatement(db, sql: schema.endClosed)
        deleteClosed = try FastStatement(db, sql: schema.deleteClosed)
        attributeCount = schema.attributes.count
        closedRows = schema.bufferedClosed(db)
        newCurrentRows = schema.bufferedNewCurrent(db)
        currentUpdates = schema.bufferedCurrentUpdates(db)
        insertUnchanged = try FastStatement(db, sql: schema.insertUnchanged)
        deleteUnchangedFrom = try FastStatement(db, sql: schema.deleteUnchangedFrom)
        deleteCurrent = try FastStatement(db, sql: schema.deleteCurrent)
        insertLate = try FastStatement(db, sql: schema.insertLate)
    }

    /// - Parameters:
    ///   - storedOpen: The start of the key's open version before (its SCD1 row), if any.
    ///   - replacingUnchangedFrom: For a recomputed key, the time from which its stored
    ///     unchanged records are replaced by ``HistoryChanges/unchanged``; `nil` adds them.
    func write(
        _ changes: HistoryChanges,
        storedOpen: Timestamp?,
        replacingUnchangedFrom: Timestamp?,
        counts: inout ApplyCounts
    ) throws {
        if let from = replacingUnchangedFrom {
            let next = deleteUnchangedFrom.bind(changes.key, from: 1)
            deleteUnchangedFrom.bind(from, at: next)
            try deleteUnchangedFrom.run()
        }
        try writeUnchanged(changes)
        // A stored version is the SCD1 row if it was open, a closed-history row if not; the
        // SCD1 row follows ``HistoryChanges/current`` below. In order, the only stored version
        // that changes is the open one, which ends.
        for version in changes.deleted where version.start != storedOpen { try deleteStoredClosed(version) }
        counts.versionsRemoved += changes.deleted.count
        for version in changes.updated { try writeStored(version, storedOpen: storedOpen, attributesChanged: true) }
        for version in changes.ended { try writeStored(version, storedOpen: storedOpen, attributesChanged: false) }
        for version in changes.inserted where version.end != nil { try appendClosed(version) }
        counts.versionsOpened += changes.inserted.count
        counts.versionsClosed += changes.closedCount
        switch changes.current {
        case .unchanged:
            break
        case .upsert(let version):
            try (storedOpen != nil ? currentUpdates : newCurrentRows).append(.current(version))
            counts.currentUpserted += 1
        case .delete(let key):
            deleteCurrent.bind(key, from: 1)
            try deleteCurrent.run()
            counts.currentDeleted += 1
        }
    }

    /// Writes buffered rows; call before the transaction commits.
    func flush() throws {
        try closedRows.flush()
        try newCurrentRows.flush()
        try currentUpdates.flush()
    }

    /// A stored version that changes: an open one that closes is appended to the closed
    /// versions, a closed one that reopens leaves them, a closed one stays and changes.
    private func writeStored(_ version: Version, storedOpen: Timestamp?, attributesChanged: Bool) throws {
        switch (version.start == storedOpen, version.end) {
        case (true, nil):
            break
        case (true, .some):
            try appendClosed(version)
        case (false, nil):
            try deleteStoredClosed(version)
        case (false, let end?):
            let statement = attributesChanged ? updateClosed : endClosed
            var next: Int32 = attributesChanged ? statement.bind(version.attributes, from: 1) : 1
            statement.bind(end, at: next)
            next = statement.bind(version.key, from: next + 1)
            statement.bind(version.start, at: next)
            try statement.run()
            guard statement.changes == 1 else {
                throw WarehouseError.statementFailed(
                    sql: attributesChanged ? "UPDATE … SET attributes, end_time" : "UPDATE … SET end_time",
                    reason: "no closed version of \(version.key) starts at \(version.start)"
                )
            }
        }
    }

    private func deleteStoredClosed(_ version: Version) throws {
        let next = deleteClosed.bind(version.key, from: 1)
        deleteClosed.bind(version.start, at: next)
        try deleteClosed.run()
    }

    /// Buffers a closed version for the closed-history table; its attributes must be known.
    private func appendClosed(_ version: Version) throws {
        guard version.end != nil, version.attributes.count == attributeCount else {
            throw WarehouseError.statementFailed(
                sql: "INSERT INTO … closed history",
                reason: "the version of \(version.key) from \(version.start) is not closed with known attributes"
            )
        }
        try closedRows.append(.version(version))
    }

    /// Records a key's late records (rare: one statement each).
    func writeLate(_ records: [LateRecord], counts: inout ApplyCounts) throws {
        for record in records {
            var next = insertLate.bind(record.key, from: 1)
            insertLate.bind(record.eventTime, at: next)
            insertLate.bind(record.operation.rawValue, at: next + 1)
            insertLate.bind(record.loadID, at: next + 2)
            insertLate.bind(record.row, at: next + 3)
            next += 4
            insertLate.bind(record.latestBefore, at: next)
            try insertLate.run()
        }
        counts.lateRecords += records.count
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
}
