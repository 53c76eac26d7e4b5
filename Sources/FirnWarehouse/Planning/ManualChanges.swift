import FirnCore

/// One entry of an entity's change log: what one manual DML statement did to one SCD1 row.
public struct LoggedChange: Sendable, Hashable {
    /// The log's sequence number: the order the changes were made in.
    public var sequence: Int64
    /// `INSERT`, `UPDATE` or `DELETE`.
    public var action: String
    /// When the statement ran (`nil` when the log's text could not be read).
    public var changedAt: Timestamp?
    /// The row before an UPDATE or DELETE: keys, attributes, event time.
    public var old: [Value]?
    /// The row after an INSERT or UPDATE: keys, attributes, event time.
    public var new: [Value]?

    /// Creates a logged change.
    public init(sequence: Int64, action: String, changedAt: Timestamp?, old: [Value]?, new: [Value]?) {
        self.sequence = sequence
        self.action = action
        self.changedAt = changedAt
        self.old = old
        self.new = new
    }
}

/// What logged manual changes mean, the same on every backend: the records the contract makes
/// of them, and the net changes a stream shows.
public enum ManualChanges {
    /// The records of logged changes, in log order: an INSERT or UPDATE is an upsert of the new
    /// row, a DELETE a delete of the old key, an UPDATE that changes the key both; each at its
    /// statement's time (or `now`), arriving in chunk `chunk` at its sequence number. Changes
    /// that leave a key NULL cannot be records and are left out.
    public static func records(
        _ changes: [LoggedChange],
        entity: EntityConfiguration,
        chunk: Int64,
        now: Timestamp
    ) -> [ChangeRecord] {
        let keyCount = entity.keyColumns.count
        let attributeCount = entity.attributeColumns.count
        func split(_ image: [Value]) -> (Key, [Value]) {
            (Key(Array(image[0..<keyCount])), Array(image[keyCount..<(keyCount + attributeCount)]))
        }
        var records: [ChangeRecord] = []
        for change in changes {
            let time = change.changedAt ?? now
            let arrival = Arrival(load: chunk, row: change.sequence)
            func record(_ image: [Value], _ operation: Operation) -> ChangeRecord {
                let (key, attributes) = split(image)
                return ChangeRecord(key: key, eventTime: time, operation: operation, attributes: attributes, arrival: arrival)
            }
            switch (change.action, change.old, change.new) {
            case ("INSERT", _, let new?):
                records.append(record(new, .upsert))
            case ("DELETE", let old?, _):
                records.append(record(old, .delete))
            case (_, let old?, let new?):
                if split(old).0 != split(new).0 { records.append(record(old, .delete)) }
                records.append(record(new, .upsert))
            default:
                break
            }
        }
        records.removeAll { $0.key.values.contains(.null) }
        return records
    }

    /// The net change of each row changed, as a Snowflake stream shows it, in the order rows
    /// were first changed: an insert, a delete, or an update as a DELETE and INSERT pair with
    /// `isUpdate` true; a row changed and changed back shows nothing.
    public static func netChanges(_ changes: [LoggedChange], entity: EntityConfiguration) -> [StreamChange] {
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
        for change in changes {
            let old = change.action == "INSERT" ? nil : change.old
            let new = change.action == "DELETE" ? nil : change.new
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
        return result
    }
}
