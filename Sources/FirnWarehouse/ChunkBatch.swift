import FirnCore

/// One file's chunk in a batch that applies the chunks of several files in one transaction
/// (``Warehouse/applyChunks(_:)``).
public struct ChunkApplication: Sendable {
    /// The file's load, from ``Warehouse/beginLoad(_:continuing:)``.
    public var ticket: LoadTicket
    /// The file's next rows.
    public var chunk: RecordChunk
    /// Whether this is the file's last chunk: its load is marked loaded in the same transaction.
    public var finishing: Bool
    /// What the file left to defaults or ignored, for load history (written when `finishing`).
    public var warnings: [String]

    /// Creates a part of a batch.
    public init(ticket: LoadTicket, chunk: RecordChunk, finishing: Bool, warnings: [String] = []) {
        self.ticket = ticket
        self.chunk = chunk
        self.finishing = finishing
        self.warnings = warnings
    }
}

/// What applying a batch of several files' chunks did, in all and per file.
public struct BatchApplyCounts: Sendable {
    /// The whole batch: every count, and where the time went.
    public var total: ApplyCounts
    /// Per part, in the batch's order: what load history keeps per file (rows staged,
    /// versions opened and closed, late records); the other counts are the batch's, in
    /// ``total``, and are zero here.
    public var parts: [ApplyCounts]
    /// The load history rows of the batch's loads as its transaction left them, by load id,
    /// when the backend read them in that transaction (saving the caller a read after it);
    /// empty when it did not.
    public var summaries: [Int64: LoadSummary] = [:]

    /// Creates batch counts.
    public init(total: ApplyCounts, parts: [ApplyCounts]) {
        self.total = total
        self.parts = parts
    }
}

/// The files (parts) of a batch being applied, and what each of them did: the versions a
/// key's changes open and close are the doing of the records that made them, so each file's
/// load history row counts what its own records did, as if it had been applied alone
/// whenever its keys are not shared with another file of the batch.
///
/// A version opened at time `t` is counted for the file of the latest-arriving record of its
/// key at `t` in the batch (the one whose values it holds), and a version closed at `t` the
/// same way; a version whose time is no record of the batch (a stored version re-split by a
/// late record) is counted for the key's latest-arriving record of the batch.
public struct BatchParts: Sendable {
    /// Each part's chunk id (its records' arrival load), ascending.
    public let chunks: [Int64]
    /// Each part's load history id.
    public let loadIDs: [Int64]
    /// Each part's counts so far (see ``BatchApplyCounts/parts``).
    public private(set) var counts: [ApplyCounts]

    /// Parts with these chunk ids (ascending, one per part) and loads.
    public init(chunks: [Int64], loadIDs: [Int64]) {
        precondition(chunks.count == loadIDs.count, "one load per chunk")
        self.chunks = chunks
        self.loadIDs = loadIDs
        counts = Array(repeating: ApplyCounts(), count: chunks.count)
    }

    /// The part whose records arrive with this chunk id.
    public func part(ofChunk chunk: Int64) -> Int {
        if chunks.count == 1 { return 0 }
        var low = 0
        var high = chunks.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if chunks[middle] <= chunk { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// The load history id of a record of the batch.
    public func loadID(of record: ChangeRecord) -> Int64 {
        loadIDs[part(ofChunk: record.arrival.load)]
    }

    /// Counts a part's records as staged.
    public mutating func staged(_ count: Int, part: Int) {
        counts[part].staged += count
    }

    /// Counts late records for the parts they came in.
    public mutating func late(_ records: [LateRecord]) {
        for record in records {
            let part = loadIDs.count == 1 ? 0 : loadIDs.firstIndex(of: record.loadID) ?? loadIDs.count - 1
            counts[part].lateRecords += 1
        }
    }

    /// Counts one key's changes for the parts whose records made them.
    ///
    /// - Parameters:
    ///   - changes: The key's changes.
    ///   - storedOpen: The start of the key's open version before the batch, if any.
    ///   - group: The key's group in the batch.
    ///   - records: The batch.
    ///   - order: The batch's key order.
    public mutating func attribute(
        _ changes: HistoryChanges,
        storedOpen: Timestamp?,
        group: KeyGroup,
        records: [ChangeRecord],
        order: [Int]
    ) {
        let range = group.range
        let first = part(ofChunk: records[order[range.lowerBound]].arrival.load)
        if chunks.count == 1 || range.dropFirst().allSatisfy({ part(ofChunk: records[order[$0]].arrival.load) == first })
        {
            counts[first].versionsOpened += changes.inserted.count
            counts[first].versionsClosed += changes.closedCount
            return
        }
        // Positions within a group are in arrival order: the last one at a time is the latest.
        func partAt(_ time: Timestamp?) -> Int {
            var found: Int?
            var last = first
            for index in range {
                let record = records[order[index]]
                last = part(ofChunk: record.arrival.load)
                if record.eventTime == time { found = last }
            }
            return found ?? last
        }
        for version in changes.inserted { counts[partAt(version.start)].versionsOpened += 1 }
        var closings = changes.inserted.compactMap(\.end)
        for version in changes.updated + changes.ended where version.start == storedOpen {
            if let end = version.end { closings.append(end) }
        }
        for end in closings.prefix(changes.closedCount) { counts[partAt(end)].versionsClosed += 1 }
        if closings.count < changes.closedCount {
            counts[partAt(nil)].versionsClosed += changes.closedCount - closings.count
        }
    }
}
