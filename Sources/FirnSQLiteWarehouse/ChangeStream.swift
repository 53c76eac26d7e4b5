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
        var records: [ChangeRecord] = []
        let keyCount = entity.keyColumns.count
        let attributeCount = entity.attributeColumns.count
        for row in rows {
            let seq: Int64 = row["seq"]
            let action: String = row["action"]
            let changedAt: String = row["changed_at"]
            let time = Timestamp(canonical: changedAt) ?? now
            func image(_ prefix: String) -> (Key, [Value]) {
                let columns = schema.imageColumns.map { prefix + $0.name.normalized }
                let values = columns.map { Value(row[$0] as DatabaseValue) }
                return (Key(Array(values[0..<keyCount])), Array(values[keyCount..<(keyCount + attributeCount)]))
            }
            let arrival = Arrival(load: chunk, row: seq)
            switch action {
            case "INSERT":
                let (key, attributes) = image("new_")
                records.append(
                    ChangeRecord(
                        key: key,
                        eventTime: time,
                        operation: .upsert,
                        attributes: attributes,
                        arrival: arrival
                    )
                )
            case "DELETE":
                let (key, attributes) = image("old_")
                records.append(
                    ChangeRecord(
                        key: key,
                        eventTime: time,
                        operation: .delete,
                        attributes: attributes,
                        arrival: arrival
                    )
                )
            default:
                let (oldKey, oldAttributes) = image("old_")
                let (newKey, newAttributes) = image("new_")
                if oldKey != newKey {
                    records.append(
                        ChangeRecord(
                            key: oldKey,
                            eventTime: time,
                            operation: .delete,
                            attributes: oldAttributes,
                            arrival: arrival
                        )
                    )
                }
                records.append(
                    ChangeRecord(
                        key: newKey,
                        eventTime: time,
                        operation: .upsert,
                        attributes: newAttributes,
                        arrival: arrival
                    )
                )
            }
        }
        // A key edited to NULL cannot be a record; such changes are dropped from the log but counted.
        records.removeAll { $0.key.values.contains(.null) }
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
            let names = schema.imageColumns.map(\.name.normalized)
            let keyCount = entity.keyColumns.count
            var order: [Key] = []
            var before: [Key: [Value]?] = [:]
            var after: [Key: [Value]?] = [:]
            func note(_ image: [Value]?, old: [Value]?, key: Key) {
                if before[key] == nil {
                    order.append(key)
                    before[key] = .some(old)
                }
                after[key] = .some(image)
            }
            for row in rows {
                let action: String = row["action"]
                let old = action == "INSERT" ? nil : names.map { Value(row["old_" + $0] as DatabaseValue) }
                let new = action == "DELETE" ? nil : names.map { Value(row["new_" + $0] as DatabaseValue) }
                if let old, let new, Array(old[0..<keyCount]) != Array(new[0..<keyCount]) {
                    note(nil, old: old, key: Key(Array(old[0..<keyCount])))
                    note(new, old: nil, key: Key(Array(new[0..<keyCount])))
                } else if let image = new ?? old {
                    note(new, old: old, key: Key(Array(image[0..<keyCount])))
                }
            }
            var result: [StreamChange] = []
            for key in order {
                let old = before[key] ?? nil
                let new = after[key] ?? nil
                let rowID = "\(entity.name.normalized):\(key)"
                switch (old, new) {
                case (nil, let new?):
                    result.append(StreamChange(row: new, action: "INSERT", isUpdate: false, rowID: rowID))
                case (let old?, nil):
                    result.append(StreamChange(row: old, action: "DELETE", isUpdate: false, rowID: rowID))
                case (let old?, let new?) where old != new:
                    result.append(StreamChange(row: old, action: "DELETE", isUpdate: true, rowID: rowID))
                    result.append(StreamChange(row: new, action: "INSERT", isUpdate: true, rowID: rowID))
                default:
                    break
                }
            }
            let latest = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM \(schema.changes)") ?? offset
            return StreamSnapshot(name: streamName, offset: offset, latest: max(latest, offset), changes: result)
        }
    }
}
