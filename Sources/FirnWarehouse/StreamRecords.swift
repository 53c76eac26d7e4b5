import FirnCore

/// A table of rows read from the warehouse: column names and values.
public struct QueryResult: Sendable, Hashable {
    /// The column names, in order.
    public var columns: [String]
    /// The rows; each has one value per column.
    public var rows: [[Value]]

    /// Creates a result.
    public init(columns: [String], rows: [[Value]]) {
        self.columns = columns
        self.rows = rows
    }
}

/// The stream on the SCD1 table: changes not yet reflected in history, Snowflake-style.
public struct StreamSnapshot: Sendable, Hashable {
    /// The stream's name (`customer_stream`).
    public var name: String
    /// The change-log position consumed so far: the stream's offset.
    public var offset: Int64
    /// The newest change-log position.
    public var latest: Int64
    /// Net changes since the offset, in the order their rows were first changed.
    public var changes: [StreamChange]

    /// Creates a snapshot.
    public init(name: String, offset: Int64, latest: Int64, changes: [StreamChange]) {
        self.name = name
        self.offset = offset
        self.latest = latest
        self.changes = changes
    }
}

/// One net change of a stream, as a Snowflake stream shows it: an insert, a delete, or an
/// update as a DELETE and INSERT pair with `isUpdate` true.
public struct StreamChange: Sendable, Hashable {
    /// The SCD1 row's values (keys, attributes, event time), after an INSERT, before a DELETE.
    public var row: [Value]
    /// `INSERT` or `DELETE` (`METADATA$ACTION`).
    public var action: String
    /// Whether it is half of an update (`METADATA$ISUPDATE`).
    public var isUpdate: Bool
    /// The row's identity across changes (`METADATA$ROW_ID`): entity and key.
    public var rowID: String

    /// Creates a change.
    public init(row: [Value], action: String, isUpdate: Bool, rowID: String) {
        self.row = row
        self.action = action
        self.isUpdate = isUpdate
        self.rowID = rowID
    }
}

/// What consuming the stream did.
public struct StreamConsumption: Sendable, Hashable {
    /// Change-log entries consumed.
    public var changesConsumed: Int
    /// What applying them as records did to history and SCD1.
    public var counts: ApplyCounts
    /// The stream's offset after consuming.
    public var offset: Int64

    /// Creates a consumption report.
    public init(changesConsumed: Int, counts: ApplyCounts, offset: Int64) {
        self.changesConsumed = changesConsumed
        self.counts = counts
        self.offset = offset
    }
}
