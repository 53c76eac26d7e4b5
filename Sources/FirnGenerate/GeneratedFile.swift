import FirnCore

/// One generated row: a full snapshot of one customer at its event time.
public struct GeneratedChange: Sendable, Hashable {
    /// What the row does.
    public enum Kind: Sendable, Hashable {
        /// A new customer (`op` `I`).
        case new
        /// A change of 1–3 fields of a live customer (`op` `U`).
        case update
        /// The end of a live customer (`op` `D`), carrying its last snapshot.
        case delete
    }

    /// The `customer_id`.
    public var customerID: Int64
    /// The customer's values in this snapshot.
    public var profile: CustomerProfile
    /// The `update_timestamp`.
    public var eventTime: Timestamp
    /// New, update or delete.
    public var kind: Kind
    /// Whether the row is delivered late: after rows with later event times.
    public var isLate = false
    /// For an update, the attributes it changed: bit `i` for attribute `i` (0 = first_name …
    /// 6 = country); 0 for other rows.
    public var changedFields: UInt8 = 0

    /// Creates a row.
    public init(customerID: Int64, profile: CustomerProfile, eventTime: Timestamp, kind: Kind, isLate: Bool = false) {
        self.customerID = customerID
        self.profile = profile
        self.eventTime = eventTime
        self.kind = kind
        self.isLate = isLate
    }

    /// The `op` column: `I`, `U` or `D`.
    public var operationCode: Character {
        switch kind {
        case .new: "I"
        case .update: "U"
        case .delete: "D"
        }
    }

    /// The row as FirnCore reads it from a file, for the ``EntityConfiguration/customer`` entity.
    ///
    /// - Parameter arrival: Its load and row number.
    /// - Returns: A record whose attributes are the snapshot's text values.
    public func record(arrival: Arrival) -> ChangeRecord {
        ChangeRecord(
            key: Key(customerID),
            eventTime: eventTime,
            operation: kind == .delete ? .delete : .upsert,
            attributes: profile.attributes.map { .text($0) },
            arrival: arrival
        )
    }
}

/// How many rows of each kind a file (or a run) holds.
public struct GeneratedCounts: Sendable, Hashable, CustomStringConvertible {
    /// All rows.
    public var rows = 0
    /// New customers.
    public var new = 0
    /// Updates, late ones included.
    public var updates = 0
    /// Deletes.
    public var deletes = 0
    /// Late updates (also counted in ``updates``).
    public var late = 0

    /// Zero counts.
    public init() {}

    /// Counts `changes`.
    ///
    /// - Parameter changes: The rows to count.
    public init(_ changes: [GeneratedChange]) {
        for change in changes { add(change) }
    }

    /// Counts one more row.
    public mutating func add(_ change: GeneratedChange) {
        rows += 1
        switch change.kind {
        case .new: new += 1
        case .update: updates += 1
        case .delete: deletes += 1
        }
        if change.isLate { late += 1 }
    }

    /// Adds another set of counts.
    public static func += (lhs: inout GeneratedCounts, rhs: GeneratedCounts) {
        lhs.rows += rhs.rows
        lhs.new += rhs.new
        lhs.updates += rhs.updates
        lhs.deletes += rhs.deletes
        lhs.late += rhs.late
    }

    /// `1000 rows (new 251, updates 699, deletes 50, late 12)`.
    public var description: String {
        "\(rows) rows (new \(new), updates \(updates), deletes \(deletes), late \(late))"
    }
}

/// One generated file's rows, in delivery order.
public struct GeneratedFile: Sendable, Hashable {
    /// The file's number, from 0.
    public var index: Int
    /// The rows, in the order they appear in the file.
    public var changes: [GeneratedChange]

    /// Creates a file.
    public init(index: Int, changes: [GeneratedChange]) {
        self.index = index
        self.changes = changes
    }

    /// The rows per kind.
    public var counts: GeneratedCounts { GeneratedCounts(changes) }

    /// The file's name: `prefix`, the index zero-padded to six digits (more digits from file
    /// 1,000,000 on), `.csv`: `customers-000042.csv`, so names sort in file order.
    ///
    /// - Parameter prefix: The name's start. Defaults to `customers-`.
    /// - Returns: The name.
    public func name(prefix: String = "customers-") -> String {
        let digits = String(index)
        return prefix + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".csv"
    }

    /// The file's bytes: CSV as ``CustomerCSV`` describes, with a header and LF line ends.
    ///
    /// With a `configuration` that says so, from ``GeneratorConfiguration/evolveAtFile`` on the
    /// file has a last column `loyalty_tier` (``loyaltyTier(of:)``; empty for deletes), and a
    /// share of its updates (``GeneratorConfiguration/partialShare``) are partial images: the
    /// fields they did not change are empty.
    public func csv(_ configuration: GeneratorConfiguration = GeneratorConfiguration()) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(100 + changes.count * 128)
        let evolved = configuration.evolveAtFile.map { index >= $0 } ?? false
        out.append(contentsOf: CustomerCSV.header.joined(separator: ",").utf8)
        if evolved { out.append(contentsOf: ",loyalty_tier".utf8) }
        out.append(UInt8(ascii: "\n"))
        for change in changes {
            out.append(contentsOf: String(change.customerID).utf8)
            let partial = change.kind == .update && Self.isPartial(change, configuration)
            for (field, value) in change.profile.attributes.enumerated() {
                out.append(UInt8(ascii: ","))
                if partial, change.changedFields & (1 << field) == 0 { continue }
                CustomerCSV.appendField(value, to: &out)
            }
            out.append(UInt8(ascii: ","))
            CustomerCSV.appendISOTime(change.eventTime, to: &out)
            out.append(UInt8(ascii: ","))
            out.append(change.operationCode.asciiValue!)
            if evolved {
                out.append(UInt8(ascii: ","))
                if change.kind != .delete { out.append(contentsOf: Self.loyaltyTier(of: change).utf8) }
            }
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// The `loyalty_tier` of a row in an evolved file: `bronze`, `silver` or `gold`, a function
    /// of the customer and the hour of its event time (so a customer's tier changes now and then).
    public static func loyaltyTier(of change: GeneratedChange) -> String {
        let hour = change.eventTime.microseconds / 3_600_000_000
        return ["bronze", "silver", "gold"][Int((change.customerID &+ hour) % 3 + 3) % 3]
    }

    /// Whether an update is written as a partial image: a hash of the seed, the customer and
    /// the event time below the share (no draw from the random stream).
    static func isPartial(_ change: GeneratedChange, _ configuration: GeneratorConfiguration) -> Bool {
        guard configuration.partialShare > 0 else { return false }
        var hash = SplitMix64(seed: configuration.seed ^ UInt64(bitPattern: change.customerID) &* 0x9E37_79B9_7F4A_7C15
            ^ UInt64(bitPattern: change.eventTime.microseconds))
        return hash.unit() < configuration.partialShare
    }
}
