/// What a record does to its key: make the key's state equal to the record, or end it.
public enum Operation: String, Sendable, Hashable {
    /// `I` or `U` (or no op column): the record is the entity's full state at its event time.
    case upsert = "U"
    /// `D`: the entity stops existing at the record's event time.
    case delete = "D"
}

/// The position of a record in arrival order: the load it came in, then its row in that load.
///
/// Loads are numbered in the order they start (load history ids), so a later file arrives
/// after an earlier one and, inside a file, a later row after an earlier one. Arrival breaks
/// ties between records of one key with equal event times: the later arrival wins.
public struct Arrival: Sendable, Hashable, Comparable {
    /// The load history id of the file (or stream consumption) the record came in.
    public var load: Int64
    /// The record's row number in that load: 1 for a file's first data row.
    public var row: Int64

    /// Creates an arrival position.
    public init(load: Int64, row: Int64) {
        self.load = load
        self.row = row
    }

    public static func < (lhs: Arrival, rhs: Arrival) -> Bool {
        (lhs.load, lhs.row) < (rhs.load, rhs.row)
    }
}

/// One change record: a full snapshot of one entity at its event time.
public struct ChangeRecord: Sendable, Hashable {
    /// The entity's key.
    public var key: Key
    /// The event time (`update_timestamp`, or the load time for files without one).
    public var eventTime: Timestamp
    /// Upsert or delete.
    public var operation: Operation
    /// Attribute values in ``EntityConfiguration/attributeColumns`` order (all ``Value/null``
    /// for most deletes; they are kept in staging but ignored by the SCD rules).
    public var attributes: [Value]
    /// Where the record stands in arrival order.
    public var arrival: Arrival

    /// Creates a record.
    public init(key: Key, eventTime: Timestamp, operation: Operation, attributes: [Value], arrival: Arrival) {
        self.key = key
        self.eventTime = eventTime
        self.operation = operation
        self.attributes = attributes
        self.arrival = arrival
    }

    /// The SCD order of records of one key: event time, then arrival.
    public static func scdOrder(_ lhs: ChangeRecord, _ rhs: ChangeRecord) -> Bool {
        lhs.eventTime != rhs.eventTime ? lhs.eventTime < rhs.eventTime : lhs.arrival < rhs.arrival
    }
}

/// One SCD Type 2 version of a key: its attributes, valid from ``start`` until ``end``.
public struct Version: Sendable, Hashable {
    /// The key.
    public var key: Key
    /// The attributes in force during the version.
    public var attributes: [Value]
    /// The event time of the record that opened the version (inclusive).
    public var start: Timestamp
    /// The event time at which the next version started or a delete closed this one
    /// (exclusive); `nil` while the version is open (stored as ``Timestamp/openEnd``).
    public var end: Timestamp?
    /// `true` for a span in which the key was deleted, as history shows it under
    /// ``DeletePolicy/record`` (with the attributes of the version the delete ended). Replay
    /// never makes one: such spans are derived from the versions when history is read.
    public var isDeleted: Bool

    /// Creates a version.
    public init(key: Key, attributes: [Value], start: Timestamp, end: Timestamp?, isDeleted: Bool = false) {
        self.key = key
        self.attributes = attributes
        self.start = start
        self.end = end
        self.isDeleted = isDeleted
    }

    /// `true` while the version is open: the key's current state (its SCD1 row, unless
    /// ``isDeleted``).
    public var isCurrent: Bool { end == nil }
}

/// A row that could not become a record, with the reason a person can act on.
public struct RejectedRow: Sendable, Hashable {
    /// The row number in its file (1 for the first data row; the header is row 0).
    public var row: Int64
    /// The row's raw text as read (invalid UTF-8 replaced with U+FFFD, cut at the size limit,
    /// NUL shown as U+2400).
    public private(set) var rawText: String
    /// Why the row was rejected: `bad timestamp "2026-13-01" in column update_timestamp`.
    public private(set) var reason: String

    /// Creates a rejected row. Each NUL character of its text and reason becomes U+2400 (␀,
    /// the symbol for NUL): PostgreSQL's `text` refuses NUL and SQLite's text is read back only
    /// up to it, so kept as it is it would fail the chunk or cut the row short in the
    /// warehouse. The reason says when the row held one.
    public init(row: Int64, rawText: String, reason: String) {
        self.row = row
        self.rawText = rawText.nulMadeVisible
        self.reason = reason.nulMadeVisible
    }
}

extension String {
    /// The text with each NUL character replaced by U+2400 (␀).
    var nulMadeVisible: String {
        guard utf8.contains(0) else { return self }
        var scalars = String.UnicodeScalarView()
        for scalar in unicodeScalars { scalars.append(scalar == "\u{0}" ? "\u{2400}" : scalar) }
        return String(scalars)
    }
}
