import FirnCore
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
    let versionRows: BufferedWrite
    let endRows: BufferedWrite
    let newCurrentRows: BufferedWrite
    let currentUpdates: BufferedWrite
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
        endRows = schema.bufferedEnds(db)
        newCurrentRows = schema.bufferedNewCurrent(db)
        currentUpdates = schema.bufferedCurrentUpdates(db)
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
            for version in changes.ended { try endRows.append(.version(version)) }
            for version in changes.inserted { try versionRows.append(.version(version)) }
            counts.versionsOpened += changes.inserted.count
            counts.versionsClosed += changes.closedCount
            try writeUnchanged(changes)
            switch changes.current {
            case .unchanged:
                break
            case .upsert(let version):
                // SCD1 holds exactly the open versions (the stream is consumed first).
                try (hadOpenVersion ? currentUpdates : newCurrentRows).append(.current(version))
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
        case .upsert(let version):
            // Manual DML may have left SCD1 apart from history, so only then an upsert.
            let statement = forceCurrent ? upsertCurrent : insertCurrent
            let next = statement.bind(version.key, from: 1)
            statement.bind(version.start, at: statement.bind(version.attributes, from: next))
            try statement.run()
            counts.currentUpserted += 1
        case .delete(let key):
            deleteCurrent.bind(key, from: 1)
            try deleteCurrent.run()
            counts.currentDeleted += 1
        }
    }

    /// Writes buffered rows; call before the transaction commits.
    func flush() throws {
        try endRows.flush()
        try versionRows.flush()
        try newCurrentRows.flush()
        try currentUpdates.flush()
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
