import FirnCore
import GRDB
import FirnWarehouse

extension SQLiteWarehouse {
    /// Applies pending manual changes to the SCD1 table (DML through `firn query` or any
    /// SQLite client) to history, each at its statement's time, and advances the stream's
    /// offset, all in one transaction.
    ///
    /// Each logged change becomes a record: an INSERT or UPDATE an upsert of the new row, a
    /// DELETE a delete of the old key (an UPDATE that changes the key is both), staged with
    /// `source_file` `manual DML`, over SCD1 as history had it (the rows saved before the DML
    /// are put back first). So history stays a pure function of the records, and a
    /// later late record is placed correctly around manual changes too. The pipeline's own
    /// changes never enter the change log, so nothing is counted twice.
    ///
    /// - Throws: ``WarehouseError``.
    @discardableResult
    func consumeStream() throws(WarehouseError) -> StreamConsumption {
        try applying { db in try asPipeline(db) { try consumeStream(db) } }
    }

    func consumeStream(_ db: Database) throws -> StreamConsumption {
        let streamName = entity.streamName.normalized
        // SCD1 back as history has it; the logged changes are then applied as records.
        if try Bool.fetchOne(db, sql: schema.hasRowsBeforeDML) == true {
            for statement in schema.rewindSCD1 { try db.execute(sql: statement) }
        }
        let offset =
            try Int64.fetchOne(db, sql: "SELECT \"offset\" FROM firn_streams WHERE name = ?", arguments: [streamName])
            ?? 0
        let rows = try Row.fetchAll(
            db,
            sql: "SELECT * FROM \(schema.changes) WHERE seq > ? ORDER BY seq",
            arguments: [offset]
        )
        guard let last = rows.last else {
            return StreamConsumption(changesConsumed: 0, counts: ApplyCounts(), offset: offset)
        }
        let now = Timestamp.now()
        try db.execute(
            sql: """
                INSERT INTO firn_loads (entity, source, file_name, checksum, size_bytes, status, rows_done,
                    rows_loaded, event_time_default, started_at, finished_at)
                VALUES (?, 'stream', 'manual DML', '', 0, 'loaded', ?, ?, ?, ?, ?)
                """,
            arguments: [
                entity.name.normalized, rows.count, rows.count, now.description, now.description, now.description,
            ]
        )
        let load = db.lastInsertedRowID
        let chunk = try SQLiteWarehouse.nextChunk(db, load: load, rows: 1...Int64(rows.count), at: now)
        let records = ManualChanges.records(Self.loggedChanges(rows, schema: schema), entity: entity, chunk: chunk, now: now)
        let counts = try BatchApplier(schema: schema, db: db, cache: keyStates).apply(
            records,
            loadID: load,
            sourceFile: "manual DML",
            loadedAt: now
        )
        let newOffset: Int64 = last["seq"]
        try db.execute(
            sql: "UPDATE firn_streams SET \"offset\" = ?, updated_at = ? WHERE name = ?",
            arguments: [newOffset, now.description, streamName]
        )
        try db.execute(sql: "DELETE FROM \(schema.changes) WHERE seq <= ?", arguments: [newOffset])
        try db.execute(
            sql: "UPDATE firn_loads SET versions_opened = ?, versions_closed = ? WHERE load_id = ?",
            arguments: [counts.versionsOpened, counts.versionsClosed, load]
        )
        return StreamConsumption(changesConsumed: rows.count, counts: counts, offset: newOffset)
    }

    /// The stream's pending changes: for each row changed since the offset, its net change,
    /// as a Snowflake stream shows it (an insert, a delete, or an update as a DELETE and INSERT
    /// pair with `METADATA$ISUPDATE` true; a row changed and changed back shows nothing).
    ///
    /// - Throws: ``WarehouseError``.
    func pendingStream() throws(WarehouseError) -> StreamSnapshot {
        let schema = self.schema
        let streamName = entity.streamName.normalized
        return try read { db in
            let offset =
                try Int64.fetchOne(
                    db,
                    sql: "SELECT \"offset\" FROM firn_streams WHERE name = ?",
                    arguments: [streamName]
                ) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT * FROM \(schema.changes) WHERE seq > ? ORDER BY seq",
                arguments: [offset]
            )
            let result = ManualChanges.netChanges(Self.loggedChanges(rows, schema: schema), entity: entity)
            let latest = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM \(schema.changes)") ?? offset
            return StreamSnapshot(name: streamName, offset: offset, latest: max(latest, offset), changes: result)
        }
    }
}

extension SQLiteWarehouse {
    /// Change-log rows (`customer_changes`) as logged changes.
    static func loggedChanges(_ rows: [Row], schema: EntitySchema) -> [LoggedChange] {
        let names = schema.imageColumns.map(\.name.normalized)
        return rows.map { row in
            let action: String = row["action"]
            let changedAt: String = row["changed_at"]
            return LoggedChange(
                sequence: row["seq"],
                action: action,
                changedAt: Timestamp(canonical: changedAt),
                old: action == "INSERT" ? nil : names.map { Value(row["old_" + $0] as DatabaseValue) },
                new: action == "DELETE" ? nil : names.map { Value(row["new_" + $0] as DatabaseValue) }
            )
        }
    }
}
