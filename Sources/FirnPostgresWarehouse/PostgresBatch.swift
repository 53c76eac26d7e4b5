import FirnCore
import FirnWarehouse
import Logging
import NIOCore
import PostgresNIO

/// Applies a batch of records inside the caller's transaction on PostgreSQL, planned by the
/// shared ``BatchPlan``: staging by `COPY`, one set-based probe of every key the batch touches,
/// one read of the stored rows of all keys with late records, and the changes written
/// set-based (`COPY`, or `COPY` into temporary tables and one statement per table).
struct PostgresBatch {
    let warehouse: PostgresWarehouse
    let connection: PostgresConnection
    var schema: PostgresSchema { warehouse.schema }
    var logger: Logger { warehouse.logger }

    /// Applies `records` with the remembered key `states` (checked out for this transaction):
    /// keys they know are not probed, and every key's new state is stored in them. They are
    /// staged first unless `isStaged` (``stage(_:loadID:sourceFile:loadedAt:)``). With an
    /// `epoch`, every key of the records is recorded under it in `firn_epoch_keys`
    /// (``PostgresWarehouse/recordKeysChanged(_:epoch:keys:)``), as soon as staging is done.
    func apply(
        _ records: [ChangeRecord],
        isStaged: Bool = false,
        loadID: Int64,
        sourceFile: String,
        loadedAt: Timestamp,
        states: inout KeyStateCache.States,
        recordingKeysAt epoch: Int64? = nil,
        parts: PostgresBatchParts? = nil
    ) async throws -> ApplyCounts {
        guard !records.isEmpty else {
            if let epoch { try await warehouse.recordKeysChanged(connection, epoch: epoch, keys: KeyList.encode([])) }
            return ApplyCounts()
        }
        // Read before the entity gained attributes: NULL in them.
        var records = records
        records.padAttributes(to: schema.attributes.count)
        // Read before attributes were widened: values as the wider types hold them.
        records.conformAttributes(to: schema.entity)
        var counts = ApplyCounts()
        // Several files' records: each record's load is its file's.
        let fileOf = parts?.counts
        let loadOf: (ChangeRecord) -> Int64 = { record in fileOf?.loadID(of: record) ?? loadID }
        if let parts {
            for (index, file) in parts.files.enumerated() { parts.counts.staged(file.range.count, part: index) }
        }
        let clock = ContinuousClock()
        var mark = clock.now
        func lap() -> Double {
            let now = clock.now
            defer { mark = now }
            return (now - mark).seconds
        }
        // While the records are staged, another thread groups them by key and works out what
        // the remembered states tell (see `KnownKeys`); then, while the server takes the COPY,
        // the in-order keys the states knew are written into the set-based writes (no
        // statement needed). The rest wait for the connection: probed, replayed, written.
        // The batch's keys, encoded by the grouping thread too, are recorded right after
        // staging, while the first part is gathered.
        let policy = schema.entity.historyPolicy
        let known = KnownKeys(states: states, policy: policy)
        let grouping = Task.detached { [records] () -> ByteBuffer? in
            known.work(records: records)
            return epoch == nil ? nil : KeyList.encode(keysOf: records, order: known.order)
        }
        let width = schema.entity.attributeColumns.count
        let files = parts?.files
        let staging = Task { [records] in
            if !isStaged {
                if let files {
                    try await stage(records, files: files, loadedAt: loadedAt)
                } else {
                    try await stage(records, loadID: loadID, sourceFile: sourceFile, loadedAt: loadedAt)
                }
            }
            let staged = clock.now
            if records.count >= Self.logFlushRows { warehouse.pool.logFlush.nudge() }
            if let epoch, let keys = await grouping.value {
                try await warehouse.recordKeysChanged(connection, epoch: epoch, keys: keys)
            }
            return staged
        }
        let start = mark
        await grouping.value
        counts.staged = records.count
        counts.timings.group = known.groupSeconds
        let order = known.order
        known.releaseStates()
        counts.cachedKeys = known.cachedKeys
        var groups = known.takeGroups()
        var writes = Writes(width: width)
        var stored = StoredWrites(width: width)
        var waiting: [Int] = []
        /// Counts a key's changes for the files whose records made them (several files), and
        /// writes its late records.
        func account(_ changes: HistoryChanges, storedOpen: Timestamp?, group: KeyGroup, latestStored: Timestamp?) {
            parts?.counts.attribute(changes, storedOpen: storedOpen, group: group, records: records, order: order)
            let late = BatchPlan.lateRecords(
                group: group,
                records: records,
                order: order,
                latestStored: latestStored,
                loadID: loadOf
            )
            parts?.counts.late(late)
            writes.appendLate(late, counts: &counts)
        }
        // A large batch's known keys are written in parts: each part's statements run on the
        // server after staging and the parts before it (one after another: the connection has
        // one transaction), while the next part is gathered. The first is small, so the server
        // starts on it soon after staging; the next are gathered while staging runs. Nothing
        // between starting a part and awaiting the last throws, so no part is left running
        // when the transaction ends.
        var boundary = groups.count > Self.partKeys ? Self.firstPartKeys : Int.max
        let step = max(Self.partKeys, groups.count / 4)
        var flushing: Task<Void, any Error>?
        for index in groups.indices {
            if index == boundary {
                boundary += step
                if !writes.isEmpty {
                    let ready = writes
                    writes = Writes(width: width)
                    flushing = Task { [flushing] in
                        if let flushing { try await flushing.value } else { _ = try await staging.value }
                        try await flush(ready)
                        warehouse.pool.logFlush.nudge()
                    }
                }
            }
            let group = groups[index]
            guard group.isKnown, group.isInOrder, let (changes, latest) = known.takeChanges(at: index),
                Self.isAppendOnly(changes, storedOpen: group.open?.start)
            else {
                waiting.append(index)
                continue
            }
            counts.inOrderKeys += 1
            Self.gather(changes, storedOpen: group.open?.start, into: &writes, counts: &counts)
            account(changes, storedOpen: group.open?.start, group: group, latestStored: nil)
            states.store(KeyState(latest: latest, open: changes.open), for: group.key)
        }
        // Time after staging counts as writing.
        try await flushing?.value
        let staged = (try await staging.value - start).seconds
        counts.timings.stage = staged - known.groupSeconds
        counts.timings.write = lap() - staged
        try await probe(&groups)
        counts.timings.probe = lap()
        var late: [KeyGroup] = []
        for index in waiting {
            let group = groups[index]
            guard group.isInOrder else {
                late.append(group)
                continue
            }
            counts.inOrderKeys += 1
            let (changes, latest) = BatchPlan.reconcileInOrder(
                group: group,
                records: records,
                order: order,
                policy: policy
            )
            collect(
                changes,
                storedOpen: group.open?.start,
                replacingUnchangedFrom: nil,
                into: &writes,
                stored: &stored,
                counts: &counts
            )
            account(changes, storedOpen: group.open?.start, group: group, latestStored: nil)
            states.store(KeyState(latest: latest, open: changes.open), for: group.key)
        }
        // Keys with late records: their stored rows read for all at once, then replayed, each
        // from its replay start (read again for the keys whose start moved back).
        var existing = try await versions(of: late)
        var since = late
        for position in late.indices {
            since[position].from = BatchPlan.replayStart(
                existing: existing[position],
                from: late[position].from,
                policy: policy
            )
        }
        let moved = late.indices.filter { since[$0].from < late[$0].from }
        if !moved.isEmpty {
            for (position, versions) in zip(moved, try await versions(of: moved.map { since[$0] })) {
                existing[position] = versions
            }
        }
        let unchanged = try await unchangedRecords(of: since)
        for (position, group) in late.enumerated() {
            counts.recomputedKeys += 1
            let (changes, latest) = BatchPlan.replay(
                key: group.key,
                existing: existing[position],
                unchanged: unchanged[position],
                records: group.range.map { records[order[$0]] },
                from: since[position].from,
                policy: policy
            )
            let storedOpen = existing[position].last.flatMap { $0.isCurrent ? $0.start : nil }
            collect(
                changes,
                storedOpen: storedOpen,
                replacingUnchangedFrom: since[position].from,
                into: &writes,
                stored: &stored,
                counts: &counts
            )
            account(
                changes,
                storedOpen: storedOpen,
                group: group,
                latestStored: BatchPlan.latestStored(existing: existing[position], unchanged: unchanged[position])
            )
            states.store(KeyState(latest: latest, open: changes.open), for: group.key)
        }
        // The batch's working state is a few small allocations per key: free it on another
        // core while the last writes run, off the transaction's path (as on SQLite).
        known.releaseElsewhere(consume groups)
        try await flushStored(stored)
        try await flush(writes)
        counts.timings.write += lap()
        return counts
    }

    /// Copies `records` into staging, written out a few thousand rows at a time so that the
    /// server starts on them at once.
    func stage(_ records: [ChangeRecord], loadID: Int64, sourceFile: String, loadedAt: Timestamp) async throws {
        try await stage(
            records,
            files: [PostgresBatchParts.File(range: records.indices, loadID: loadID, sourceFile: sourceFile)],
            loadedAt: loadedAt
        )
    }

    /// The fewest known keys written in one part after the first (see
    /// ``apply(_:isStaged:loadID:sourceFile:loadedAt:states:recordingKeysAt:)``); a batch of no more
    /// keys is written at once.
    static let partKeys = 5_000

    /// The known keys written in the first part of a batch written in parts.
    static let firstPartKeys = 2_500

    /// The fewest records whose staging has the server flush its log before the batch goes on
    /// (``LogFlush``); a part written before the last always does.
    static let logFlushRows = 2_000

    /// Records staged per write of the staging `COPY`.
    static let stagingSlice = 2_000

    /// The records as rows of the staging table, in `COPY` text.
    static func stagingRows(
        _ records: ArraySlice<ChangeRecord>,
        loadID: Int64,
        sourceFile: String,
        loadedAt: Timestamp,
        width: Int
    ) -> PostgresCopyRows {
        var rows = PostgresCopyRows(reservingBytes: records.count * 160)
        let loaded = loadedAt.description
        for record in records {
            rows.append(integer: loadID)
            rows.append(integer: record.arrival.row)
            rows.append(key: record.key)
            rows.append(record.attributes, paddedTo: width)
            rows.append(timestamp: record.eventTime)
            rows.append(text: record.operation.rawValue)
            rows.append(text: sourceFile)
            rows.append(text: loaded)
            rows.endRow()
        }
        return rows
    }

    // MARK: Probing

    /// Sets ``KeyGroup/isInOrder`` and ``KeyGroup/open`` of every group the remembered states
    /// did not know (``KeyGroup/isKnown``), in one query: each key's
    /// SCD1 row (its open version), its latest closed version and its latest unchanged record.
    /// Closed history is read only for keys without an SCD1 row (a key with one is judged by
    /// it): the condition on `c` in the lateral subquery is a one-time filter, so a live key's
    /// index scan of closed history is skipped.
    func probe(_ groups: inout [KeyGroup]) async throws {
        let unknown = groups.indices.filter { !groups[$0].isKnown }
        guard !unknown.isEmpty else { return }
        let keyCount = schema.keys.count
        let width = schema.attributes.count
        let (binds, unnest) = keyArrays(unknown.map { groups[$0].key }, alias: "p", ordinal: true)
        let names = (0..<keyCount).map { "k\($0)" }
        let match: (String) -> String = { alias in
            zip(schema.keys, names).map { "\(alias).\($0) = p.\($1)" }.joined(separator: " AND ")
        }
        let sql = """
            SELECT p.position, c.\(schema.eventTime) IS NOT NULL AS live,
                \(schema.attributes.map { "c.\($0), " }.joined())c.\(schema.eventTime),
                h.start_time, h.end_time, u.latest
            FROM \(unnest)
            LEFT JOIN \(schema.current) c ON \(match("c"))
            LEFT JOIN LATERAL (SELECT start_time, end_time FROM \(schema.closed) x WHERE \(match("x"))
                AND c.\(schema.eventTime) IS NULL ORDER BY start_time DESC LIMIT 1) h ON true
            LEFT JOIN LATERAL (SELECT max(\(schema.eventTime)) AS latest FROM \(schema.unchanged) y WHERE \(match("y"))) u
                ON true
            """
        for row in try await connection.rows(sql, binds, logger: logger) {
            let cells = Array(row)
            let index = unknown[Int(try cells[0].decode(Int64.self)) - 1]
            let live = try cells[1].decode(Bool.self)
            let from = groups[index].from
            if live {
                let start = Timestamp(canonical: try cells[2 + width].decode(String?.self) ?? "")
                if let start, start < from {
                    groups[index].open = Version(
                        key: groups[index].key,
                        attributes: (0..<width).map { cells[2 + $0].value },
                        start: start,
                        end: nil
                    )
                } else {
                    groups[index].isInOrder = false
                }
            } else if let startText = try cells[3 + width].decode(String?.self),
                let start = Timestamp(canonical: startText)
            {
                let end = try cells[4 + width].decode(String?.self).flatMap(Timestamp.init(canonical:))
                if start >= from || end.map({ $0 >= from }) != false { groups[index].isInOrder = false }
            }
            if groups[index].isInOrder, let latest = try cells[5 + width].decode(String?.self),
                let time = Timestamp(canonical: latest), time >= from
            {
                groups[index].isInOrder = false
                groups[index].open = nil
            }
        }
    }

    // MARK: Writing

    /// Rows gathered for the set-based writes at the end of the batch.
    struct Writes {
        let width: Int
        var closed = PostgresCopyRows()
        /// SCD1 rows of keys that had none (copied straight in).
        var inserts = PostgresCopyRows()
        /// SCD1 rows of keys that had one (their open version).
        var updates = PostgresCopyRows()
        var deletes: [Key] = []
        var unchanged = PostgresCopyRows()
        var late = PostgresCopyRows()

        /// Whether there is nothing to write.
        var isEmpty: Bool {
            closed.isEmpty && inserts.isEmpty && updates.isEmpty && deletes.isEmpty && unchanged.isEmpty && late.isEmpty
        }

        /// Appends a key's late records.
        mutating func appendLate(_ records: [LateRecord], counts: inout ApplyCounts) {
            for record in records {
                late.append(key: record.key)
                late.append(timestamp: record.eventTime)
                late.append(text: record.operation.rawValue)
                late.append(integer: record.loadID)
                late.append(integer: record.row)
                late.append(timestamp: record.latestBefore)
                late.endRow()
            }
            counts.lateRecords += records.count
        }

        /// Appends a version as a row of closed history.
        mutating func appendClosed(_ version: Version) {
            closed.append(key: version.key)
            closed.append(version.attributes, paddedTo: width)
            closed.append(timestamp: version.start)
            closed.append(timestamp: version.end ?? .openEnd)
            closed.endRow()
        }
    }

    /// Whether `changes` touch no stored closed version (only the open one, if any): then
    /// ``gather(_:storedOpen:into:counts:)`` alone writes them, without a statement of their
    /// own. That is the in-order case.
    static func isAppendOnly(_ changes: HistoryChanges, storedOpen: Timestamp?) -> Bool {
        changes.deleted.allSatisfy { $0.start == storedOpen } && changes.updated.allSatisfy { $0.start == storedOpen }
            && changes.ended.allSatisfy { $0.start == storedOpen }
    }

    /// Gathers what goes into the set-based writes: unchanged records, the stored open
    /// version now closed, new closed versions, the SCD1 row; counts everything.
    static func gather(
        _ changes: HistoryChanges,
        storedOpen: Timestamp?,
        into writes: inout Writes,
        counts: inout ApplyCounts
    ) {
        for record in changes.unchanged {
            writes.unchanged.append(key: record.key)
            writes.unchanged.append(timestamp: record.eventTime)
            writes.unchanged.append(text: record.operation.rawValue)
            writes.unchanged.append(record.attributes, paddedTo: writes.width)
            writes.unchanged.append(integer: record.arrival.load)
            writes.unchanged.append(integer: record.arrival.row)
            writes.unchanged.endRow()
        }
        counts.versionsRemoved += changes.deleted.count
        // The stored open version is SCD1's row; once it ends it becomes a closed version.
        for version in changes.updated where version.start == storedOpen && version.end != nil {
            writes.appendClosed(version)
        }
        for version in changes.ended where version.start == storedOpen && version.end != nil {
            writes.appendClosed(version)
        }
        for version in changes.inserted where version.end != nil { writes.appendClosed(version) }
        counts.versionsOpened += changes.inserted.count
        counts.versionsClosed += changes.closedCount
        switch changes.current {
        case .unchanged:
            break
        case .upsert(let version):
            // A key has an SCD1 row exactly when it had an open version.
            if storedOpen == nil {
                writes.inserts.append(key: version.key)
                writes.inserts.append(version.attributes, paddedTo: writes.width)
                writes.inserts.append(timestamp: version.start)
                writes.inserts.endRow()
            } else {
                writes.updates.append(key: version.key)
                writes.updates.append(version.attributes, paddedTo: writes.width)
                writes.updates.append(timestamp: version.start)
                writes.updates.endRow()
            }
            counts.currentUpserted += 1
        case .delete(let key):
            writes.deletes.append(key)
            counts.currentDeleted += 1
        }
    }
}
