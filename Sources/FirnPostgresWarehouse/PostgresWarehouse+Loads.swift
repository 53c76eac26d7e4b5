import FirnCore
import FirnWarehouse
import Foundation
import PostgresNIO

// Loading on PostgreSQL: the same load history rules as on SQLite (see `Warehouse`), each
// operation one transaction; the load's row is locked (`FOR UPDATE`) while a chunk applies, so
// two workers loading one file take turns and the second skips what the first committed.
extension PostgresWarehouse {
    static let summaryColumns = """
        load_id, source, file_name, checksum, status, rows_loaded, rows_rejected, versions_opened, versions_closed,
        started_at, finished_at, error, warnings, landed_at
        """

    static func summary(_ row: PostgresRow) throws -> LoadSummary {
        let all = try row.decode(
            (Int64, String, String, String, String, Int64, Int64, Int64, Int64, String, String?, String?, String?, String?)
                .self
        )
        return LoadSummary(
            id: all.0,
            source: all.1,
            fileName: all.2,
            checksum: all.3,
            status: all.4,
            rowsLoaded: all.5,
            rowsRejected: all.6,
            versionsOpened: all.7,
            versionsClosed: all.8,
            startedAt: all.9,
            finishedAt: all.10,
            error: all.11,
            warnings: all.12,
            landedAt: all.13
        )
    }

    static func summary(_ connection: PostgresConnection, id: Int64, logger: Logger) async throws -> LoadSummary? {
        var binds = PostgresBindings()
        binds.append(id)
        return try await connection.rows(
            "SELECT \(summaryColumns) FROM firn_loads WHERE load_id = $1",
            binds,
            logger: logger
        ).first.map(summary(_:))
    }

    public func beginLoad(_ content: FileContent, continuing: UnfinishedLoad?) async throws(WarehouseError)
        -> LoadStart
    {
        try await transaction { connection -> LoadStart in
            try await self.beginLoad(connection, content, continuing: continuing)
        }
    }

    /// The advisory lock two workers beginning the same file take turns on.
    func loadLock(_ content: FileContent) -> Int64 {
        Self.lockKey("load:\(entity.name.normalized):\(content.name)")
    }

    /// Starts, resumes or skips loading `content`, inside the caller's transaction (see
    /// ``beginLoad(_:continuing:)``).
    func beginLoad(
        _ connection: PostgresConnection,
        _ content: FileContent,
        continuing: UnfinishedLoad?
    ) async throws -> LoadStart
    {
        let entityName = entity.name.normalized
        let logger = self.logger
        // One content at a time: two workers beginning the same file take turns here.
        var lock = PostgresBindings()
        lock.append(loadLock(content))
        try await connection.execute("SELECT pg_advisory_xact_lock($1)", lock, logger: logger)
        var binds = PostgresBindings()
        binds.append(entityName)
        binds.append(content.name)
        binds.append(content.checksum)
        let existing = try await connection.rows(
            """
            SELECT load_id, status, rows_done, event_time_default FROM firn_loads
            WHERE entity = $1 AND file_name = $2 AND checksum = $3
                AND (status IN ('loaded', 'loading') OR (status = 'failed' AND rows_done > 0))
            ORDER BY load_id DESC LIMIT 1
            """,
            binds,
            logger: logger
        )
        if let row = existing.first {
            let (id, status, done, defaultTime) = try row.decode((Int64, String, Int64, String).self)
            if status == "loaded" {
                return .alreadyLoaded(try await Self.summary(connection, id: id, logger: logger)!)
            }
            if status == "failed" {
                var reopen = PostgresBindings()
                reopen.append(id)
                try await connection.execute(
                    "UPDATE firn_loads SET status = 'loading', finished_at = NULL, error = NULL WHERE load_id = $1",
                    reopen,
                    logger: logger
                )
            }
            return .load(
                LoadTicket(
                    id: id,
                    content: content,
                    resumeAfterRow: done,
                    defaultEventTime: Timestamp(canonical: defaultTime) ?? .now()
                )
            )
        }
        if let continuing, continuing.content.name == content.name {
            var binds = PostgresBindings()
            binds.append(continuing.id)
            binds.append(entityName)
            binds.append(content.name)
            binds.append(continuing.content.checksum)
            binds.append(continuing.content.sizeBytes)
            let resumed = try await connection.rows(
                """
                SELECT rows_done, event_time_default FROM firn_loads
                WHERE load_id = $1 AND entity = $2 AND file_name = $3 AND checksum = $4 AND size_bytes = $5
                    AND (status = 'loading' OR (status = 'failed' AND rows_done > 0))
                """,
                binds,
                logger: logger
            )
            if let row = resumed.first {
                let (done, defaultTime) = try row.decode((Int64, String).self)
                var update = PostgresBindings()
                update.append(content.checksum)
                update.append(content.sizeBytes)
                update.append(continuing.id)
                try await connection.execute(
                    """
                    UPDATE firn_loads SET checksum = $1, size_bytes = $2, status = 'loading', finished_at = NULL,
                        error = NULL
                    WHERE load_id = $3
                    """,
                    update,
                    logger: logger
                )
                return .load(
                    LoadTicket(
                        id: continuing.id,
                        content: content,
                        resumeAfterRow: done,
                        defaultEventTime: Timestamp(canonical: defaultTime) ?? .now()
                    )
                )
            }
        }
        let now = Timestamp.now()
        var insert = PostgresBindings()
        insert.append(entityName)
        insert.append(content.source)
        insert.append(content.name)
        insert.append(content.checksum)
        insert.append(content.sizeBytes)
        insert.append(now.description)
        insert.append(content.landedAt?.description)
        let id = try await connection.rows(
            """
            INSERT INTO firn_loads (entity, source, file_name, checksum, size_bytes, status, event_time_default,
                started_at, landed_at)
            VALUES ($1, $2, $3, $4, $5, 'loading', $6, $6, $7) RETURNING load_id
            """,
            insert,
            logger: logger
        ).first!.decode(Int64.self)
        return .load(LoadTicket(id: id, content: content, resumeAfterRow: 0, defaultEventTime: now))
    }

    @discardableResult
    public func applyChunk(
        _ ticket: LoadTicket,
        _ chunk: consuming RecordChunk,
        finishing: Bool,
        warnings: [String]
    ) async throws(WarehouseError) -> ApplyCounts {
        // A batch of one file (see `applyParts(_:readingSummaries:)`).
        try await applyParts(
            [ChunkApplication(ticket: ticket, chunk: chunk, finishing: finishing, warnings: warnings)],
            readingSummaries: false
        ).total
    }

    /// Records a chunk's rejects in one statement, however many (a dirty file may have thousands).
    func recordRejects(
        _ connection: PostgresConnection,
        _ ticket: LoadTicket,
        _ rejects: [RejectedRow],
        at time: Timestamp
    ) async throws {
        guard !rejects.isEmpty else { return }
        let entityName = entity.name.normalized
        var rows = PostgresCopyRows(reservingBytes: rejects.count * 160)
        let rejectedAt = time.description
        for reject in rejects {
            rows.append(integer: ticket.id)
            rows.append(text: entityName)
            rows.append(text: ticket.content.name)
            rows.append(integer: reject.row)
            rows.append(text: reject.rawText)
            rows.append(text: reject.reason)
            rows.append(text: rejectedAt)
            rows.endRow()
        }
        try await PostgresBatch(warehouse: self, connection: connection).copy(
            rows,
            into: "firn_rejects",
            columns: ["load_id", "entity", "source_file", "source_row", "raw_text", "reason", "rejected_at"]
        )
    }

    /// Records a load's progress after a chunk: its last row, and what it applied.
    static func recordProgress(
        _ connection: PostgresConnection,
        _ load: Int64,
        lastRow: Int64,
        applied: Int,
        rejected: Int,
        counts: ApplyCounts,
        logger: Logger
    ) async throws {
        var progress = PostgresBindings()
        progress.append(lastRow)
        progress.append(Int64(applied))
        progress.append(Int64(rejected))
        progress.append(Int64(counts.versionsOpened))
        progress.append(Int64(counts.versionsClosed))
        progress.append(load)
        try await connection.execute(
            """
            UPDATE firn_loads SET rows_done = $1, rows_loaded = rows_loaded + $2, rows_rejected = rows_rejected + $3,
                versions_opened = versions_opened + $4, versions_closed = versions_closed + $5
            WHERE load_id = $6
            """,
            progress,
            logger: logger
        )
    }

    /// Records a chunk about to be applied and returns its id: its records' arrival order.
    static func nextChunk(
        _ connection: PostgresConnection,
        load: Int64,
        rows: ClosedRange<Int64>,
        at time: Timestamp,
        logger: Logger
    ) async throws -> Int64 {
        var binds = PostgresBindings()
        binds.append(load)
        binds.append(rows.lowerBound)
        binds.append(rows.upperBound)
        binds.append(time.description)
        return try await connection.rows(
            "INSERT INTO firn_chunks (load_id, first_row, last_row, applied_at) VALUES ($1, $2, $3, $4) RETURNING chunk_id",
            binds,
            logger: logger
        ).first!.decode(Int64.self)
    }

    static func markLoaded(_ connection: PostgresConnection, _ id: Int64, warnings: [String], logger: Logger) async throws {
        var binds = PostgresBindings()
        binds.append(Timestamp.now().description)
        binds.append(warnings.isEmpty ? nil : warnings.joined(separator: "; "))
        binds.append(id)
        try await connection.execute(
            "UPDATE firn_loads SET status = 'loaded', finished_at = $1, warnings = $2 WHERE load_id = $3 AND status = 'loading'",
            binds,
            logger: logger
        )
    }

    @discardableResult
    public func finishLoad(_ ticket: LoadTicket, warnings: [String]) async throws(WarehouseError) -> LoadSummary {
        let logger = self.logger
        return try await transaction { connection in
            try await Self.markLoaded(connection, ticket.id, warnings: warnings, logger: logger)
            guard let summary = try await Self.summary(connection, id: ticket.id, logger: logger) else {
                throw WarehouseError.unknownLoad(ticket.id)
            }
            return summary
        }
    }

    @discardableResult
    public func recordFailure(_ content: FileContent, error: String) async throws(WarehouseError) -> LoadSummary {
        let entityName = entity.name.normalized
        let logger = self.logger
        return try await transaction { connection in
            let now = Timestamp.now().description
            var find = PostgresBindings()
            find.append(entityName)
            find.append(content.name)
            find.append(content.checksum)
            let loading = try await connection.rows(
                """
                SELECT load_id FROM firn_loads WHERE entity = $1 AND file_name = $2 AND checksum = $3
                AND status = 'loading' ORDER BY load_id DESC LIMIT 1 FOR UPDATE
                """,
                find,
                logger: logger
            ).first?.decode(Int64.self)
            let id: Int64
            if let loading {
                var binds = PostgresBindings()
                binds.append(now)
                binds.append(error)
                binds.append(loading)
                try await connection.execute(
                    "UPDATE firn_loads SET status = 'failed', finished_at = $1, error = $2 WHERE load_id = $3",
                    binds,
                    logger: logger
                )
                id = loading
            } else {
                var binds = PostgresBindings()
                binds.append(entityName)
                binds.append(content.source)
                binds.append(content.name)
                binds.append(content.checksum)
                binds.append(content.sizeBytes)
                binds.append(now)
                binds.append(error)
                id = try await connection.rows(
                    """
                    INSERT INTO firn_loads (entity, source, file_name, checksum, size_bytes, status, event_time_default,
                        started_at, finished_at, error)
                    VALUES ($1, $2, $3, $4, $5, 'failed', $6, $6, $6, $7) RETURNING load_id
                    """,
                    binds,
                    logger: logger
                ).first!.decode(Int64.self)
            }
            return try await Self.summary(connection, id: id, logger: logger)!
        }
    }

    public func unfinishedLoads(named name: String) async throws(WarehouseError) -> [UnfinishedLoad] {
        let entityName = entity.name.normalized
        let logger = self.logger
        return try await reading { connection in
            var binds = PostgresBindings()
            binds.append(entityName)
            binds.append(name)
            return try await connection.rows(
                """
                SELECT load_id, source, checksum, size_bytes, rows_done FROM firn_loads
                WHERE entity = $1 AND file_name = $2 AND (status = 'loading' OR (status = 'failed' AND rows_done > 0))
                ORDER BY load_id DESC
                """,
                binds,
                logger: logger
            ).map { row in
                let (id, source, checksum, size, done) = try row.decode((Int64, String, String, Int64, Int64).self)
                return UnfinishedLoad(
                    id: id,
                    content: FileContent(name: name, checksum: checksum, sizeBytes: size, source: source),
                    rowsDone: done
                )
            }
        }
    }
}
