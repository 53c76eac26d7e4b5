import FirnCore

/// A record that arrived after a record of its key with a later event time: a late record
/// (DESIGN.md section 3). It took its place in history, splitting the version in force at
/// its time, rather than becoming the key's current state.
///
/// Whether a record is late is a pure function of the records and their arrival order:
/// its event time is earlier than the latest event time among the records of its key that
/// arrived before it (equal times are ties, not late). Backends record each late record as
/// its chunk applies it, in the entity's `customer_late` table, so a key's late records are
/// read by key without scanning staging.
public struct LateRecord: Sendable, Hashable {
    /// The key.
    public var key: Key
    /// The record's event time.
    public var eventTime: Timestamp
    /// Upsert or delete.
    public var operation: Operation
    /// The load history id of the file (or stream consumption) it came in.
    public var loadID: Int64
    /// Its row in that load.
    public var row: Int64
    /// The latest event time of its key among the records that arrived before it.
    public var latestBefore: Timestamp

    /// Creates a late record.
    public init(key: Key, eventTime: Timestamp, operation: Operation, loadID: Int64, row: Int64, latestBefore: Timestamp) {
        self.key = key
        self.eventTime = eventTime
        self.operation = operation
        self.loadID = loadID
        self.row = row
        self.latestBefore = latestBefore
    }
}

extension BatchPlan {
    /// The late records among one key's records in a batch.
    ///
    /// - Parameters:
    ///   - group: The key's group; its records are taken in arrival order (their order in the
    ///     batch).
    ///   - order: The batch's key order (``KnownKeys/order``).
    ///   - latestStored: The latest event time among the key's records stored before the batch,
    ///     or `nil` when none is later than ``KeyGroup/from`` (an in-order key's are all
    ///     earlier, so it passes `nil`).
    ///   - loadID: The load history id the batch's records came in.
    public static func lateRecords(
        group: KeyGroup,
        records: [ChangeRecord],
        order: [Int],
        latestStored: Timestamp?,
        loadID: Int64
    ) -> [LateRecord] {
        lateRecords(group: group, records: records, order: order, latestStored: latestStored) { _ in loadID }
    }

    /// The late records among one key's records in a batch of several loads' records (see
    /// ``lateRecords(group:records:order:latestStored:loadID:)``), `loadID` giving each
    /// record's load history id.
    public static func lateRecords(
        group: KeyGroup,
        records: [ChangeRecord],
        order: [Int],
        latestStored: Timestamp?,
        loadID: (ChangeRecord) -> Int64
    ) -> [LateRecord] {
        // One record that is later than everything stored cannot be late.
        if latestStored == nil, group.range.count == 1 { return [] }
        var late: [LateRecord] = []
        var latest = latestStored
        // Positions within a group are in key order, then position: arrival order.
        for index in group.range {
            let record = records[order[index]]
            if let before = latest, record.eventTime < before {
                late.append(
                    LateRecord(
                        key: record.key,
                        eventTime: record.eventTime,
                        operation: record.operation,
                        loadID: loadID(record),
                        row: record.arrival.row,
                        latestBefore: before
                    )
                )
            } else {
                latest = record.eventTime
            }
        }
        return late
    }

    /// The latest event time among a key's stored records from a time on: the boundaries of
    /// its versions (each start and end is a record's time) and its unchanged records, as
    /// ``replay(key:existing:unchanged:records:from:)`` takes them.
    public static func latestStored(existing: [Version], unchanged: [ChangeRecord]) -> Timestamp? {
        var latest: Timestamp?
        func see(_ time: Timestamp) { if latest.map({ time > $0 }) ?? true { latest = time } }
        for version in existing {
            see(version.start)
            if let end = version.end { see(end) }
        }
        for record in unchanged { see(record.eventTime) }
        return latest
    }
}
