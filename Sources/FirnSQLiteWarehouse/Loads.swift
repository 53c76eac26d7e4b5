import FirnCore
import FirnWarehouse
import GRDB

extension SQLiteWarehouse {
    /// Starts, resumes or skips loading a file's content.
    ///
    /// Content that load history shows as `loaded` is skipped; content shown as `loading`
    /// (an interrupted attempt, or another process right now), or as `failed` after some rows
    /// were applied, is resumed after its last committed row, with its load time; anything
    /// else starts a new load. So no row of a content is ever staged twice.
    ///
    /// A file that grew after a load of it stopped part way is the same load continued: when
    /// `continuing` names an unfinished load (from ``unfinishedLoads(named:)``) whose content is
    /// the start of this one (the caller checked the checksum of that many bytes), that load
    /// takes this content and resumes after its last committed row, so the rows it staged are
    /// not staged again under the new checksum.
    ///
    /// - Parameters:
    ///   - content: The file's content.
    ///   - continuing: An unfinished load that this content extends. Defaults to `nil`.
    /// - Throws: ``WarehouseError``.
    func beginLoad(_ content: FileContent, continuing: UnfinishedLoad? = nil) throws(WarehouseError) -> LoadStart {
        try write { db -> LoadStart in try beginLoad(db, content, continuing: continuing) }
    }

    /// ``beginLoad(_:continuing:)`` inside the caller's write transaction.
    func beginLoad(_ db: Database, _ content: FileContent, continuing: UnfinishedLoad?) throws -> LoadStart {
        let entityName = entity.name.normalized
        let existing = try Row.fetchAll(
            db,
            sql: """
                SELECT load_id, status, rows_done, event_time_default FROM firn_loads
                WHERE entity = ? AND file_name = ? AND checksum = ?
                    AND (status IN ('loaded', 'loading') OR (status = 'failed' AND rows_done > 0))
                ORDER BY load_id DESC LIMIT 1
                """,
            arguments: [entityName, content.name, content.checksum]
        )
        if let row = existing.first {
            let id: Int64 = row[0]
            if (row[1] as String) == "loaded" {
                return .alreadyLoaded(try Self.summary(db, id: id)!)
            }
            if (row[1] as String) == "failed" {
                try db.execute(
                    sql:
                        "UPDATE firn_loads SET status = 'loading', finished_at = NULL, error = NULL WHERE load_id = ?",
                    arguments: [id]
                )
            }
            let defaultTime: String = row[3]
            return .load(
                LoadTicket(
                    id: id,
                    content: content,
                    resumeAfterRow: row[2],
                    defaultEventTime: Timestamp(canonical: defaultTime) ?? .now()
                )
            )
        }
        if let continuing, continuing.content.name == content.name {
            let resumed = try Row.fetchOne(
                db,
                sql: """
                    SELECT rows_done, event_time_default FROM firn_loads
                    WHERE load_id = ? AND entity = ? AND file_name = ? AND checksum = ? AND size_bytes = ?
                        AND (status = 'loading' OR (status = 'failed' AND rows_done > 0))
                    """,
                arguments: [
                    continuing.id, entityName, content.name, continuing.content.checksum,
                    continuing.content.sizeBytes,
                ]
            )
            if let resumed {
                try db.execute(
                    sql: """
                        UPDATE firn_loads SET checksum = ?, size_bytes = ?, status = 'loading', finished_at = NULL,
                            error = NULL
                        WHERE load_id = ?
                        """,
                    arguments: [content.checksum, content.sizeBytes, continuing.id]
                )
                let defaultTime: String = resumed[1]
                return .load(
                    LoadTicket(
                        id: continuing.id,
                        content: content,
                        resumeAfterRow: resumed[0],
                        defaultEventTime: Timestamp(canonical: defaultTime) ?? .now()
                    )
                )
            }
        }
        let now = Timestamp.now()
        try db.execute(
            sql: """
                INSERT INTO firn_loads (entity, source, file_name, checksum, size_bytes, status,
                    event_time_default, started_at, landed_at)
                VALUES (?, ?, ?, ?, ?, 'loading', ?, ?, ?)
                """,
            arguments: [
                entityName, content.source, content.name, content.checksum, content.sizeBytes, now.description,
                now.description, content.landedAt?.description,
            ]
        )
        return .load(
            LoadTicket(id: db.lastInsertedRowID, content: content, resumeAfterRow: 0, defaultEventTime: now)
        )
    }

    /// Applies one chunk of a file in one transaction: its records to staging, history and
    /// SCD1, its rejects to the rejects table, and the load's progress, together.
    ///
    /// Rows at or before the load's committed progress are skipped, so a chunk applied twice
    /// (a resumed load, or two processes loading one file) changes nothing the second time.
    /// Pending manual changes from the stream are applied first, in the same transaction.
    ///
    /// - Parameters:
    ///   - ticket: The load, from ``beginLoad(_:continuing:)``.
    ///   - chunk: The next rows of the file, taken over: pass it with `consume` (or as a
    ///     temporary) so that its records are applied without being copied.
    ///   - finishing: Whether this is the file's last chunk: the load is then marked loaded in
    ///     the same transaction (as ``finishLoad(_:warnings:)`` would, one commit and fsync fewer).
    ///   - warnings: What the file left to defaults or ignored, for load history (written when
    ///     `finishing`). Defaults to none.
    /// - Returns: What the chunk changed (zero counts when it was already applied).
    /// - Throws: ``WarehouseError``.
    @discardableResult
    func applyChunk(
        _ ticket: LoadTicket,
        _ chunk: consuming RecordChunk,
        finishing: Bool = false,
        warnings: [String] = []
    ) throws(WarehouseError) -> ApplyCounts {
        try applyChunks([ChunkApplication(ticket: ticket, chunk: chunk, finishing: finishing, warnings: warnings)])
            .total
    }

    /// Marks a load finished and returns its load history row.
    ///
    /// - Parameters:
    ///   - ticket: The load.
    ///   - warnings: What the file left to defaults or ignored, for load history. Defaults to none.
    /// - Throws: ``WarehouseError``.
    @discardableResult
    func finishLoad(_ ticket: LoadTicket, warnings: [String] = []) throws(WarehouseError) -> LoadSummary {
        try write { db in
            try SQLiteWarehouse.markLoaded(db, ticket.id, warnings: warnings)
            guard let summary = try Self.summary(db, id: ticket.id) else { throw WarehouseError.unknownLoad(ticket.id) }
            return summary
        }
    }

    /// The loads of a file name that stopped part way, newest first: interrupted (`loading`) or
    /// failed after applying rows. A file that has only grown since can continue one of them
    /// (``beginLoad(_:continuing:)``).
    ///
    /// - Throws: ``WarehouseError``.
    func unfinishedLoads(named name: String) throws(WarehouseError) -> [UnfinishedLoad] {
        try unfinishedLoads(named: [name])[name] ?? []
    }

    /// ``unfinishedLoads(named:)`` of several names, in one read transaction.
    func unfinishedLoads(named names: [String]) throws(WarehouseError) -> [String: [UnfinishedLoad]] {
        let entityName = entity.name.normalized
        return try read { db in
            var found: [String: [UnfinishedLoad]] = [:]
            for name in Set(names) { found[name] = try Self.unfinishedLoads(db, entity: entityName, name: name) }
            return found
        }
    }

    private static func unfinishedLoads(
        _ db: Database,
        entity entityName: String,
        name: String
    ) throws -> [UnfinishedLoad] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT load_id, source, checksum, size_bytes, rows_done FROM firn_loads
                WHERE entity = ? AND file_name = ? AND (status = 'loading' OR (status = 'failed' AND rows_done > 0))
                ORDER BY load_id DESC
                """,
            arguments: [entityName, name]
        ).map { row in
            UnfinishedLoad(
                id: row[0],
                content: FileContent(name: name, checksum: row[2], sizeBytes: row[3], source: row[1]),
                rowsDone: row[4]
            )
        }
    }

    /// A load's row in load history, or `nil` for an unknown id.
    ///
    /// - Throws: ``WarehouseError``.
    func loadSummary(_ id: Int64) throws(WarehouseError) -> LoadSummary? {
        try read { db in try Self.summary(db, id: id) }
    }

    /// ``loadSummary(_:)`` of several loads, in one read transaction.
    func loadSummaries(_ ids: [Int64]) throws(WarehouseError) -> [Int64: LoadSummary] {
        try read { db in
            var found: [Int64: LoadSummary] = [:]
            for id in Set(ids) { found[id] = try Self.summary(db, id: id) }
            return found
        }
    }

    /// Records a chunk about to be applied in `firn_chunks` and returns its id: the arrival
    /// order of its records.
    ///
    /// Arrival is the order in which records are applied (committed): file load order, then
    /// row, where the rest of a load resumed after another load arrives after that load. Stored
    /// records thus always arrive before the ones being applied, which is what replaying a key
    /// from history and its unchanged records assumes.
    static func nextChunk(_ db: Database, load: Int64, rows: ClosedRange<Int64>, at time: Timestamp) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO firn_chunks (load_id, first_row, last_row, applied_at) VALUES (?, ?, ?, ?)",
            arguments: [load, rows.lowerBound, rows.upperBound, time.description]
        )
        return db.lastInsertedRowID
    }

    static func markLoaded(_ db: Database, _ id: Int64, warnings: [String] = []) throws {
        try db.execute(
            sql: """
                UPDATE firn_loads SET status = 'loaded', finished_at = ?, warnings = ?
                WHERE load_id = ? AND status = 'loading'
                """,
            arguments: [Timestamp.now().description, warnings.isEmpty ? nil : warnings.joined(separator: "; "), id]
        )
    }

    /// Records a file that could not be loaded, with the error, in load history.
    ///
    /// - Parameters:
    ///   - content: The file (its checksum may be empty when it could not even be read).
    ///   - error: What went wrong, as the user should read it.
    /// - Throws: ``WarehouseError``.
    @discardableResult
    func recordFailure(_ content: FileContent, error: String) throws(WarehouseError) -> LoadSummary {
        let entityName = entity.name.normalized
        return try write { db in
            let now = Timestamp.now().description
            let loading = try Int64.fetchOne(
                db,
                sql: """
                    SELECT load_id FROM firn_loads WHERE entity = ? AND file_name = ? AND checksum = ?
                    AND status = 'loading' ORDER BY load_id DESC LIMIT 1
                    """,
                arguments: [entityName, content.name, content.checksum]
            )
            let id: Int64
            if let loading {
                try db.execute(
                    sql: "UPDATE firn_loads SET status = 'failed', finished_at = ?, error = ? WHERE load_id = ?",
                    arguments: [now, error, loading]
                )
                id = loading
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO firn_loads (entity, source, file_name, checksum, size_bytes, status,
                            event_time_default, started_at, finished_at, error)
                        VALUES (?, ?, ?, ?, ?, 'failed', ?, ?, ?, ?)
                        """,
                    arguments: [
                        entityName, content.source, content.name, content.checksum, content.sizeBytes, now, now, now,
                        error,
                    ]
                )
                id = db.lastInsertedRowID
            }
            return try Self.summary(db, id: id)!
        }
    }

    /// The columns ``summary(_:)`` reads, in order.
    static let summaryColumns = """
        load_id, source, file_name, checksum, status, rows_loaded, rows_rejected, versions_opened, versions_closed,
        started_at, finished_at, error, warnings, landed_at
        """

    static func summary(_ db: Database, id: Int64) throws -> LoadSummary? {
        try Row.fetchOne(db, sql: "SELECT \(summaryColumns) FROM firn_loads WHERE load_id = ?", arguments: [id])
            .map(summary(_:))
    }

    static func summary(_ row: Row) -> LoadSummary {
        LoadSummary(
            id: row[0],
            source: row[1],
            fileName: row[2],
            checksum: row[3],
            status: row[4],
            rowsLoaded: row[5],
            rowsRejected: row[6],
            versionsOpened: row[7],
            versionsClosed: row[8],
            startedAt: row[9],
            finishedAt: row[10],
            error: row[11],
            warnings: row[12],
            landedAt: row[13]
        )
    }
}
