import FirnCore
import FirnWarehouse
import GRDB

extension SQLiteWarehouse {
    /// Applies the chunks of several files in one transaction: each file's records to staging,
    /// and all of them together to history and SCD1 (one batch: keys shared by the files are
    /// reconciled once), each file's rejects, and each load's progress.
    ///
    /// Each part is checked as ``applyChunk(_:_:finishing:warnings:)`` checks a chunk: rows at
    /// or before its load's committed progress are skipped, and a load another process failed
    /// meanwhile stops the whole batch. Records arrive part after part (each part gets its own
    /// `firn_chunks` id), so history is what applying the parts one by one would give.
    /// Pending manual changes from the stream are applied first, in the same transaction.
    ///
    /// - Parameter parts: The files' chunks, in arrival order, taken over (their records are
    ///   applied without being copied).
    /// - Returns: What the batch did, in all and per part.
    /// - Throws: ``WarehouseError``.
    func applyChunks(_ parts: consuming [ChunkApplication]) throws(WarehouseError) -> BatchApplyCounts {
        var parts = parts
        // The same load twice would stage its rows twice (both parts pass the progress check).
        if Set(parts.map(\.ticket.id)).count < parts.count {
            throw WarehouseError.invalidRequest("a batch names the same load twice; apply its chunks in turn")
        }
        let entityName = entity.name.normalized
        let cache = keyStates
        let clock = ContinuousClock()
        var bodyEnd = clock.now
        var result = try applying { db -> BatchApplyCounts in
            defer { bodyEnd = clock.now }
            /// A part that applies: its rejects and progress, written once the batch is applied.
            struct Applying {
                var index: Int
                var rejects: [RejectedRow]
                var rows: Int
            }
            var applying: [Applying] = []
            var records: [ChangeRecord] = []
            var staged: [BatchApplier.Part] = []
            let now = Timestamp.now()
            for index in parts.indices {
                let ticket = parts[index].ticket
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: "SELECT status, rows_done FROM firn_loads WHERE load_id = ?",
                        arguments: [ticket.id]
                    )
                else { throw WarehouseError.unknownLoad(ticket.id) }
                let done: Int64 = row[1]
                let status: String = row[0]
                // Another process may have failed this load meanwhile: stop, so that it is not
                // reported as loaded; loading the file again resumes it.
                guard status != "failed" else { throw WarehouseError.loadNotInProgress(ticket.id, status: status) }
                guard status == "loading" else { continue }
                let lastRow = parts[index].chunk.lastRow
                guard lastRow > done else {
                    if parts[index].finishing {
                        try SQLiteWarehouse.markLoaded(db, ticket.id, warnings: parts[index].warnings)
                    }
                    continue
                }
                // Records arrive in the order their chunks commit: a load resumed after another
                // load arrives after it, whatever its load id (see SQLiteWarehouse.nextChunk).
                let chunkID = try SQLiteWarehouse.nextChunk(db, load: ticket.id, rows: (done + 1)...lastRow, at: now)
                // Moved out, so that setting the arrivals copies nothing.
                var fresh = parts[index].chunk.records
                parts[index].chunk.records = []
                if fresh.contains(where: { $0.arrival.row <= done }) { fresh.removeAll { $0.arrival.row <= done } }
                for position in fresh.indices { fresh[position].arrival.load = chunkID }
                staged.append(
                    BatchApplier.Part(
                        loadID: ticket.id,
                        sourceFile: ticket.content.name,
                        range: records.count..<(records.count + fresh.count),
                        chunk: chunkID
                    )
                )
                applying.append(
                    Applying(
                        index: index,
                        rejects: parts[index].chunk.rejects.filter { $0.row > done },
                        rows: fresh.count
                    )
                )
                if records.isEmpty { records = fresh } else { records += fresh }
            }
            var result = BatchApplyCounts(
                total: ApplyCounts(),
                parts: Array(repeating: ApplyCounts(), count: parts.count)
            )
            guard !applying.isEmpty else { return result }
            // Read before the entity gained attributes: NULL in them.
            let schema = self.schema
            records.padAttributes(to: schema.attributes.count)
            // Read before attributes were widened: values as the wider types hold them.
            records.conformAttributes(to: schema.entity)
            let applied = try asPipeline(db) { () throws -> BatchApplyCounts in
                _ = try consumeStream(db)
                return try BatchApplier(schema: schema, db: db, cache: cache).apply(
                    records,
                    parts: staged,
                    loadedAt: now
                )
            }
            result.total = applied.total
            let insertReject = try db.cachedStatement(
                sql: """
                    INSERT INTO firn_rejects (load_id, entity, source_file, source_row, raw_text, reason, rejected_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            )
            for (position, part) in applying.enumerated() {
                let ticket = parts[part.index].ticket
                for reject in part.rejects {
                    try insertReject.execute(arguments: [
                        ticket.id, entityName, ticket.content.name, reject.row, reject.rawText, reject.reason,
                        now.description,
                    ])
                }
                let counts = applied.parts[position]
                try db.execute(
                    sql: """
                        UPDATE firn_loads SET rows_done = ?, rows_loaded = rows_loaded + ?,
                            rows_rejected = rows_rejected + ?, versions_opened = versions_opened + ?,
                            versions_closed = versions_closed + ?
                        WHERE load_id = ?
                        """,
                    arguments: [
                        parts[part.index].chunk.lastRow, part.rows, part.rejects.count, counts.versionsOpened,
                        counts.versionsClosed, ticket.id,
                    ]
                )
                if parts[part.index].finishing {
                    try SQLiteWarehouse.markLoaded(db, ticket.id, warnings: parts[part.index].warnings)
                }
                result.parts[part.index] = counts
            }
            // What the caller reports: read here, in the transaction, not in another read after.
            for part in parts {
                result.summaries[part.ticket.id] = try Self.summary(db, id: part.ticket.id)
            }
            return result
        }
        result.total.timings.commit = (clock.now - bodyEnd).seconds
        return result
    }

    /// Starts, resumes or skips loading several files (see ``beginLoad(_:continuing:)``) in
    /// one transaction.
    ///
    /// - Throws: ``WarehouseError``.
    func beginLoads(
        _ contents: [(content: FileContent, continuing: UnfinishedLoad?)]
    ) throws(WarehouseError)
        -> [LoadStart]
    {
        try write { db -> [LoadStart] in
            try contents.map { content, continuing in try self.beginLoad(db, content, continuing: continuing) }
        }
    }
}
