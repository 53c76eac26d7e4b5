import FirnCore
import FirnWarehouse
import PostgresNIO

// The stream on PostgreSQL: manual DML on the SCD1 table, logged by the PL/pgSQL triggers,
// taken into history as records at each statement's time (see `Warehouse.consumeStream()`).
extension PostgresWarehouse {
    @discardableResult
    public func consumeStream() async throws(WarehouseError) -> StreamConsumption {
        let (consumption, turn) = try await transaction(asPipeline: true) { connection in
            var turn = try await self.takeApplyTurn(connection)
            return (try await self.consumeStream(connection, states: &turn.states), turn)
        }
        keyStates.checkIn(turn.states, count: turn.epoch)
        return consumption
    }

    /// Consumes the stream inside the caller's pipeline transaction, which has its apply turn
    /// (``takeApplyTurn(_:)``) and the turn's key `states`.
    func consumeStream(_ connection: PostgresConnection, states: inout KeyStateCache.States) async throws
        -> StreamConsumption
    {
        var entityName = PostgresBindings()
        entityName.append(entity.name.normalized)
        try await connection.execute("UPDATE firn_epochs SET consumed = manual WHERE entity = $1", entityName, logger: logger)
        let streamName = entity.streamName.normalized
        let columns = (schema.keys + schema.attributes + [schema.eventTime]).joined(separator: ", ")
        // SCD1 back as history has it; the logged changes are then applied as records.
        if try await connection.rows("SELECT 1 FROM \(schema.beforeDML) LIMIT 1", logger: logger).first != nil {
            try await connection.execute(
                "DELETE FROM \(schema.current) WHERE (\(schema.keyList)) IN (SELECT \(schema.keyList) FROM \(schema.beforeDML))",
                logger: logger
            )
            try await connection.execute(
                "INSERT INTO \(schema.current) (\(columns)) SELECT \(columns) FROM \(schema.beforeDML) WHERE _firn_absent = 0",
                logger: logger
            )
            try await connection.execute("DELETE FROM \(schema.beforeDML)", logger: logger)
        }
        let (offset, logged) = try await unconsumedChanges(connection, lockingOffset: true)
        guard !logged.isEmpty else { return StreamConsumption(changesConsumed: 0, counts: ApplyCounts(), offset: offset) }
        let now = Timestamp.now()
        var load = PostgresBindings()
        load.append(entity.name.normalized)
        load.append(Int64(logged.count))
        load.append(now.description)
        let loadID = try await connection.rows(
            """
            INSERT INTO firn_loads (entity, source, file_name, checksum, size_bytes, status, rows_done, rows_loaded,
                event_time_default, started_at, finished_at)
            VALUES ($1, 'stream', 'manual DML', '', 0, 'loaded', $2, $2, $3, $3, $3) RETURNING load_id
            """,
            load,
            logger: logger
        ).first!.decode(Int64.self)
        let chunk = try await Self.nextChunk(connection, load: loadID, rows: 1...Int64(logged.count), at: now, logger: logger)
        let last = logged.last?.sequence ?? offset
        let records = ManualChanges.records(logged, entity: entity, chunk: chunk, now: now)
        // The consumption records no keys in `firn_epoch_keys` (SCD1 was also put back from
        // the saved rows): other workers drop all their key states after it.
        let counts = try await PostgresBatch(warehouse: self, connection: connection).apply(
            records,
            loadID: loadID,
            sourceFile: "manual DML",
            loadedAt: now,
            states: &states
        )
        var update = PostgresBindings()
        update.append(last)
        update.append(now.description)
        update.append(streamName)
        try await connection.execute(
            "UPDATE firn_streams SET \"offset\" = $1, updated_at = $2 WHERE name = $3",
            update,
            logger: logger
        )
        var consumed = PostgresBindings()
        consumed.append(last)
        try await connection.execute("DELETE FROM \(schema.changes) WHERE seq <= $1", consumed, logger: logger)
        var totals = PostgresBindings()
        totals.append(Int64(counts.versionsOpened))
        totals.append(Int64(counts.versionsClosed))
        totals.append(loadID)
        try await connection.execute(
            "UPDATE firn_loads SET versions_opened = $1, versions_closed = $2 WHERE load_id = $3",
            totals,
            logger: logger
        )
        return StreamConsumption(changesConsumed: logged.count, counts: counts, offset: last)
    }

    public func pendingStream() async throws(WarehouseError) -> StreamSnapshot {
        let logger = self.logger
        let schema = self.schema
        let entity = self.entity
        let streamName = entity.streamName.normalized
        return try await reading { connection in
            let (offset, logged) = try await self.unconsumedChanges(connection, lockingOffset: false)
            let changes = ManualChanges.netChanges(logged, entity: entity)
            let newest =
                try await connection.rows("SELECT COALESCE(max(seq), 0) FROM \(schema.changes)", logger: logger)
                .first?.decode(Int64.self) ?? offset
            return StreamSnapshot(name: streamName, offset: offset, latest: max(newest, offset), changes: changes)
        }
    }

    /// The stream's offset and the logged changes after it, in order; the offset's row is
    /// locked (`FOR UPDATE`) when consuming.
    func unconsumedChanges(_ connection: PostgresConnection, lockingOffset: Bool) async throws
        -> (offset: Int64, changes: [LoggedChange])
    {
        var name = PostgresBindings()
        name.append(entity.streamName.normalized)
        let offset =
            try await connection.rows(
                "SELECT \"offset\" FROM firn_streams WHERE name = $1" + (lockingOffset ? " FOR UPDATE" : ""),
                name,
                logger: logger
            ).first?.decode(Int64.self) ?? 0
        let images = schema.imageColumns.map(\.name.normalized)
        let selected = ["seq", "action", "changed_at"] + images.map { "\"old_\($0)\"" } + images.map { "\"new_\($0)\"" }
        var after = PostgresBindings()
        after.append(offset)
        let rows = try await connection.rows(
            "SELECT \(selected.joined(separator: ", ")) FROM \(schema.changes) WHERE seq > $1 ORDER BY seq",
            after,
            logger: logger
        )
        return (offset, try Self.loggedChanges(rows, width: images.count))
    }

    public func streamHasData() async throws(WarehouseError) -> Bool {
        let logger = self.logger
        let changes = schema.changes
        let name = entity.streamName.normalized
        return try await reading { connection in
            var binds = PostgresBindings()
            binds.append(name)
            return try await connection.rows(
                "SELECT EXISTS (SELECT 1 FROM \(changes) WHERE seq > (SELECT \"offset\" FROM firn_streams WHERE name = $1))",
                binds,
                logger: logger
            ).first?.decode(Bool.self) ?? false
        }
    }
}

extension PostgresWarehouse {
    /// Change-log rows (`seq`, `action`, `changed_at`, the old image, the new image) as logged
    /// changes.
    static func loggedChanges(_ rows: [PostgresRow], width: Int) throws -> [LoggedChange] {
        try rows.map { row in
            let cells = Array(row)
            let action = try cells[1].decode(String.self)
            return LoggedChange(
                sequence: try cells[0].decode(Int64.self),
                action: action,
                changedAt: Timestamp(canonical: try cells[2].decode(String.self)),
                old: action == "INSERT" ? nil : (3..<(3 + width)).map { cells[$0].value },
                new: action == "DELETE" ? nil : ((3 + width)..<(3 + 2 * width)).map { cells[$0].value }
            )
        }
    }
}
