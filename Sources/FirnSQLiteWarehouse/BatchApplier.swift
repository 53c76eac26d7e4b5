import FirnCore
import FirnWarehouse
import Foundation
import GRDB

/// Applies a batch of records inside the caller's write transaction: staging rows in, then
/// each affected key's history and SCD1 row reconciled by ``SlowlyChangingHistory``, planned by
/// the shared ``BatchPlan`` (this type does the storage: staging, probes, reads and writes).
///
/// A key whose new records are all later than every record of it that counted before (the
/// common, in-order case) needs only its last stored version, which the writer usually
/// remembers (``KeyStateCache``); otherwise it is probed. Keys that are not in order (late
/// records, equal event times) have the records that counted from the batch's earliest event
/// time on rebuilt from history and the unchanged records, and replayed, which is what makes
/// the result independent of arrival order and batch size.
///
/// Two threads share the work: while the writer stages the batch, a second one groups it by
/// key and reconciles the keys whose state is remembered (``KnownKeys``); the writer then
/// probes the rest and writes every key's changes in key order, so consecutive B-tree
/// accesses fall on neighbouring pages.
struct BatchApplier {
    let schema: EntitySchema
    let db: Database
    /// Known key states: keys found here are not probed; the batch's results are stored in it.
    var cache: KeyStateCache?

    /// The stored open end, `9999-12-31 00:00:00.000000`.
    static let openEndText = Timestamp.openEnd.description

    /// Applies one load's records.
    ///
    /// - Parameters:
    ///   - records: The batch, each with its arrival already set (the applying chunk's
    ///     `firn_chunks` id, then its row).
    ///   - loadID: The load history id written to staging's `load_id`.
    ///   - sourceFile: The `source_file` written to staging.
    ///   - loadedAt: The `loaded_at` written to staging.
    func apply(
        _ records: [ChangeRecord],
        loadID: Int64,
        sourceFile: String,
        loadedAt: Timestamp
    ) throws -> ApplyCounts {
        let part = Part(loadID: loadID, sourceFile: sourceFile, range: records.indices, chunk: 0)
        return try apply(records, parts: [part], loadedAt: loadedAt).total
    }

    /// Applies several loads' records (a batch of files) together.
    ///
    /// - Parameters:
    ///   - records: Every part's records, part after part, each with its arrival set.
    ///   - parts: Where each part's records are in `records`, and its load (chunk ids ascending).
    ///   - loadedAt: The `loaded_at` written to staging.
    func apply(_ records: [ChangeRecord], parts: [Part], loadedAt: Timestamp) throws -> BatchApplyCounts {
        let batchParts = BatchParts(chunks: parts.map(\.chunk), loadIDs: parts.map(\.loadID))
        guard !records.isEmpty else {
            return BatchApplyCounts(total: ApplyCounts(), parts: batchParts.counts)
        }
        let batch = Batch(records: records, parts: parts, loadedAt: loadedAt)
        var none = KeyStateCache.States(capacity: 0)
        let (total, counted) =
            if let cache {
                try cache.withStates { states in try apply(batch, parts: batchParts, states: &states) }
            } else {
                try apply(batch, parts: batchParts, states: &none)
            }
        var perPart = counted
        if parts.count == 1 {
            perPart = [ApplyCounts()]
            perPart[0].staged = total.staged
            perPart[0].versionsOpened = total.versionsOpened
            perPart[0].versionsClosed = total.versionsClosed
            perPart[0].lateRecords = total.lateRecords
        }
        return BatchApplyCounts(total: total, parts: perPart)
    }

    /// One load's records in a batch, and where its rows go in staging.
    struct Part {
        var loadID: Int64
        var sourceFile: String
        /// Its records' positions in the batch.
        var range: Range<Int>
        /// Its records' arrival load (`firn_chunks` id).
        var chunk: Int64
    }

    /// A batch and where its rows go in staging.
    struct Batch {
        var records: [ChangeRecord]
        var parts: [Part]
        var loadedAt: Timestamp
    }

    private func apply(
        _ batch: Batch,
        parts batchParts: BatchParts,
        states: inout KeyStateCache.States
    ) throws -> (ApplyCounts, [ApplyCounts]) {
        let records = batch.records
        var counts = ApplyCounts()
        var parts = batchParts
        let isSeveral = batch.parts.count > 1
        let loadID = { (record: ChangeRecord) in batchParts.loadID(of: record) }
        let clock = ContinuousClock()
        var mark = clock.now
        func lap() -> Double {
            let now = clock.now
            defer { mark = now }
            return (now - mark).seconds
        }

        // A process that has not seen the warehouse's keys reads them all at once, when that
        // is cheaper than probing them one by one (a large batch, or enough small ones).
        var warming = 0.0
        if states.wantsWarmUp(records: records.count) {
            counts.warmedKeys = try warmUp(&states)
            warming = lap()
        }

        // While this thread stages every record in arrival order (staging is an append-only
        // log, no index by key), another groups the records by key, in key order (consecutive
        // B-tree accesses then fall on neighbouring pages), and works out what the remembered
        // key states tell: which keys are in order and, for those, their changes.
        let policy = schema.entity.historyPolicy
        let known = KnownKeys(states: states, policy: policy)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global(qos: .userInitiated).async { [records] in
            known.work(records: records)
            done.signal()
        }
        do {
            defer { done.wait() }
            let loadedAt = batch.loadedAt.description
            for (index, part) in batch.parts.enumerated() {
                let staging = schema.bufferedStaging(
                    db,
                    .init(loadID: part.loadID, sourceFile: part.sourceFile, loadedAt: loadedAt)
                )
                for record in records[part.range] { try staging.append(.staged(record)) }
                try staging.flush()
                if isSeveral { parts.staged(part.range.count, part: index) }
            }
        }
        let order = known.order
        counts.timings.group = known.groupSeconds
        // The states are written below: drop the worker's reference, so they are not copied.
        known.releaseStates()
        counts.staged = records.count
        counts.cachedKeys = known.cachedKeys
        var groups = known.takeGroups()
        counts.timings.stage = lap() - counts.timings.group

        // Probe the keys the states do not know: are their new records all later than every
        // record of them that counted before (in order), and what is their open version?
        // Those records are the version boundaries in history and the unchanged records
        // kept beside it.
        states.countProbes(groups.count { !$0.isKnown })
        try probe(&groups)
        counts.timings.probe = lap() + warming

        // Reconcile each key.
        let reader = try VersionReader(schema: schema, db: db)
        let writer = try HistoryWriter(schema: schema, db: db)
        for index in groups.indices {
            let key = groups[index].key
            let range = groups[index].range
            let from = groups[index].from
            if groups[index].isInOrder {
                counts.inOrderKeys += 1
                let open = groups[index].open
                let (changes, latest) =
                    known.takeChanges(at: index)
                    ?? BatchPlan.reconcileInOrder(group: groups[index], records: records, order: order, policy: policy)
                if isSeveral {
                    parts.attribute(changes, storedOpen: open?.start, group: groups[index], records: records, order: order)
                }
                try writer.write(changes, storedOpen: open?.start, replacingUnchangedFrom: nil, counts: &counts)
                // Only inside the batch: every stored record of an in-order key is earlier.
                let late = BatchPlan.lateRecords(
                    group: groups[index], records: records, order: order, latestStored: nil, loadID: loadID
                )
                if isSeveral, !late.isEmpty { parts.late(late) }
                try writer.writeLate(late, counts: &counts)
                // The key's latest staged record is now its latest new one.
                states.store(KeyState(latest: latest, open: changes.open), for: key)
            } else {
                counts.recomputedKeys += 1
                var existing = try reader.versions(of: key, endingFrom: from)
                let since = BatchPlan.replayStart(existing: existing, from: from, policy: policy)
                if since < from { existing = try reader.versions(of: key, endingFrom: since) }
                let unchanged = try reader.unchangedRecords(of: key, from: since)
                let (changes, latest) = BatchPlan.replay(
                    key: key,
                    existing: existing,
                    unchanged: unchanged,
                    records: range.map { records[order[$0]] },
                    from: since,
                    policy: policy
                )
                let late = BatchPlan.lateRecords(
                    group: groups[index],
                    records: records,
                    order: order,
                    latestStored: BatchPlan.latestStored(existing: existing, unchanged: unchanged),
                    loadID: loadID
                )
                if isSeveral, !late.isEmpty { parts.late(late) }
                try writer.writeLate(late, counts: &counts)
                let storedOpen = existing.last.flatMap { $0.isCurrent ? $0.start : nil }
                if isSeveral {
                    parts.attribute(changes, storedOpen: storedOpen, group: groups[index], records: records, order: order)
                }
                try writer.write(
                    changes,
                    storedOpen: storedOpen,
                    replacingUnchangedFrom: since,
                    counts: &counts
                )
                // Every record of the key from `from` on was replayed, its latest among them.
                states.store(KeyState(latest: latest, open: changes.open), for: key)
            }
        }
        try writer.flush()
        // The batch's working state is a few small allocations per key: free it on another
        // core, off the writer's path.
        known.keep(groups)
        groups = []
        DispatchQueue.global(qos: .utility).async { withExtendedLifetime(known) {} }
        counts.timings.write = lap()
        return (counts, parts.counts)
    }
}
