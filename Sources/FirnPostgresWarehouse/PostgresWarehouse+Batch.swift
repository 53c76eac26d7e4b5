import FirnCore
import FirnWarehouse
import PostgresNIO

// Several files in one transaction on PostgreSQL (see `Warehouse.applyChunks(_:)`): the pipe
// and `firn load` hand over the small files that queued up together, and they commit once.
extension PostgresWarehouse {
    /// Applies the chunks of several files in one transaction, as one batch: each part is
    /// checked as ``applyChunk(_:_:finishing:warnings:)`` checks a chunk (rows at or before its
    /// load's committed progress skipped, a load another process failed meanwhile stopping the
    /// whole batch), staged with its load and name, and recorded as its own chunk, in order, so
    /// each file's records arrive after the previous file's; then all the records are applied
    /// together (keys shared by the files reconciled once) and each file's rejects, progress and
    /// counts (``BatchParts``) recorded. The load rows are locked in load id order, so two
    /// workers' batches wait for each other instead of deadlocking.
    ///
    /// - Throws: ``WarehouseError/loadNotInProgress(_:status:)`` when another process failed
    ///   one of the loads meanwhile (nothing of the batch is applied).
    public func applyChunks(_ parts: consuming [ChunkApplication]) async throws(WarehouseError) -> BatchApplyCounts {
        try await applyParts(parts, readingSummaries: true)
    }

    /// Applies chunks of files as ``applyChunks(_:)`` says; one chunk is a batch of one (as
    /// ``applyChunk(_:_:finishing:warnings:)`` applies it). With `readingSummaries`, the loads'
    /// history rows are read in the transaction for the caller (``BatchApplyCounts/summaries``).
    func applyParts(
        _ parts: consuming [ChunkApplication],
        readingSummaries: Bool
    ) async throws(WarehouseError) -> BatchApplyCounts {
        var parts = parts
        // The same load twice would stage its rows twice (both parts pass the progress check).
        if Set(parts.map(\.ticket.id)).count < parts.count {
            throw WarehouseError.invalidRequest("a batch names the same load twice; apply its chunks in turn")
        }
        let logger = self.logger
        let clock = ContinuousClock()
        var bodyEnd = clock.now
        let keyStates = self.keyStates
        let (counts, turn) = try await transaction(asPipeline: true) {
            connection -> (BatchApplyCounts, ApplyTurn?) in
            defer { bodyEnd = clock.now }
            var result = BatchApplyCounts(
                total: ApplyCounts(),
                parts: Array(repeating: ApplyCounts(), count: parts.count)
            )
            var ids = PostgresBindings()
            ids.append(parts.map(\.ticket.id))
            var progress: [Int64: (status: String, done: Int64)] = [:]
            for row in try await connection.rows(
                "SELECT load_id, status, rows_done FROM firn_loads WHERE load_id = ANY($1) ORDER BY load_id FOR UPDATE",
                ids,
                logger: logger
            ) {
                let (id, status, done) = try row.decode((Int64, String, Int64).self)
                progress[id] = (status, done)
            }
            /// A part that applies: its rejects and the rows before it.
            struct Applying {
                var index: Int
                var rejects: [RejectedRow]
                var done: Int64
            }
            var applying: [Applying] = []
            var files: [PostgresBatchParts.File] = []
            var records: [ChangeRecord] = []
            for index in parts.indices {
                let ticket = parts[index].ticket
                guard let (status, done) = progress[ticket.id] else { throw WarehouseError.unknownLoad(ticket.id) }
                // Another process may have failed this load meanwhile: stop, so that it is not
                // reported as loaded; loading the file again resumes it.
                guard status != "failed" else { throw WarehouseError.loadNotInProgress(ticket.id, status: status) }
                guard status == "loading" else { continue }
                guard parts[index].chunk.lastRow > done else {
                    if parts[index].finishing {
                        try await Self.markLoaded(
                            connection,
                            ticket.id,
                            warnings: parts[index].warnings,
                            logger: logger
                        )
                    }
                    continue
                }
                // Moved out, so that setting the arrivals copies nothing.
                var fresh = parts[index].chunk.records
                parts[index].chunk.records = []
                if let first = fresh.first, first.arrival.row <= done { fresh.removeAll { $0.arrival.row <= done } }
                applying.append(
                    Applying(index: index, rejects: parts[index].chunk.rejects.filter { $0.row > done }, done: done)
                )
                files.append(
                    PostgresBatchParts.File(
                        range: records.count..<(records.count + fresh.count),
                        loadID: ticket.id,
                        sourceFile: ticket.content.name
                    )
                )
                if records.isEmpty { records = fresh } else { records += fresh }
            }
            guard !applying.isEmpty else { return (result, nil) }
            // While another worker's chunk has the turn, every file is staged.
            let stagedAt = Timestamp.now()
            var isStaged = false
            var turn = try await self.takeApplyTurn(connection) {
                guard !records.isEmpty else { return }
                try await PostgresBatch(warehouse: self, connection: connection).stage(
                    records,
                    files: files,
                    loadedAt: stagedAt
                )
                isStaged = true
            }
            let now = Timestamp.now()
            if turn.streamPending { _ = try await self.consumeStream(connection, states: &turn.states) }
            var chunks: [Int64] = []
            for (part, file) in zip(applying, files) {
                let chunkID = try await Self.nextChunk(
                    connection,
                    load: file.loadID,
                    rows: (part.done + 1)...parts[part.index].chunk.lastRow,
                    at: now,
                    logger: logger
                )
                for position in file.range { records[position].arrival.load = chunkID }
                chunks.append(chunkID)
            }
            let batchParts = PostgresBatchParts(files: files, chunks: chunks)
            // No keys are recorded after consuming the stream: its keys are not all among the
            // records', so other workers drop all their key states.
            let counts = try await PostgresBatch(warehouse: self, connection: connection).apply(
                records,
                isStaged: isStaged,
                loadID: files[0].loadID,
                sourceFile: files[0].sourceFile,
                loadedAt: isStaged ? stagedAt : now,
                states: &turn.states,
                recordingKeysAt: turn.streamPending ? nil : turn.epoch,
                parts: batchParts
            )
            releaseElsewhere(consume records)
            result.total = counts
            for (position, part) in applying.enumerated() {
                let ticket = parts[part.index].ticket
                let own = batchParts.counts.counts[position]
                try await self.recordRejects(connection, ticket, part.rejects, at: now)
                try await Self.recordProgress(
                    connection,
                    ticket.id,
                    lastRow: parts[part.index].chunk.lastRow,
                    applied: files[position].range.count,
                    rejected: part.rejects.count,
                    counts: own,
                    logger: logger
                )
                if parts[part.index].finishing {
                    try await Self.markLoaded(
                        connection,
                        ticket.id,
                        warnings: parts[part.index].warnings,
                        logger: logger
                    )
                }
                result.parts[part.index] = own
            }
            // What the caller reports: read here, in the transaction, not in another read after.
            for part in parts where readingSummaries {
                if let summary = try await Self.summary(connection, id: part.ticket.id, logger: logger) {
                    result.summaries[part.ticket.id] = summary
                }
            }
            return (result, turn)
        }
        if let turn { keyStates.checkIn(turn.states, count: turn.epoch) }
        var result = counts
        result.total.timings.commit = (clock.now - bodyEnd).seconds
        return result
    }

    /// Starts, resumes or skips loading several files (see ``beginLoad(_:continuing:)``) in
    /// one transaction, in their order (new loads get ids in it). Their files' locks are all
    /// taken first, in one order, so that two workers beginning overlapping sets wait for each
    /// other instead of deadlocking.
    public func beginLoads(
        _ contents: [(content: FileContent, continuing: UnfinishedLoad?)]
    ) async throws(WarehouseError) -> [LoadStart] {
        let locks = Set(contents.map { loadLock($0.content) }).sorted()
        let logger = self.logger
        return try await transaction { connection -> [LoadStart] in
            for lock in locks {
                var binds = PostgresBindings()
                binds.append(lock)
                try await connection.execute("SELECT pg_advisory_xact_lock($1)", binds, logger: logger)
            }
            var starts: [LoadStart] = []
            for (content, continuing) in contents {
                starts.append(try await self.beginLoad(connection, content, continuing: continuing))
            }
            return starts
        }
    }
}
