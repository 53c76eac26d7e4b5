import FirnCore
import FirnWarehouse

/// DESIGN.md section 3, written out as plainly as possible, independently of
/// `SlowlyChangingHistory`: the history every backend must produce from a set of records.
///
/// The entity's policies (issue 13) are spelled out here too, from their definitions:
/// `null_updates: ignore` fills an upsert's NULLs from the version in force; an upsert that
/// then differs from the version in force only in untracked attributes changes that version
/// (and SCD1) in place. Under `deletes: record`, a delete that ends a version also opens a
/// deleted span with that version's attributes, which the key's next upsert ends.
///
/// Only data types are shared (FirnCore's, and ``LateRecord``); the rules are re-derived here from the contract.
/// Text is compared byte for byte (as SQL compares it), not by Swift's canonical equivalence.
public enum ReferenceModel {
    /// Every version of every key, ordered by key, then start.
    ///
    /// - Parameters:
    ///   - untracked: Attribute positions whose changes open no version.
    ///   - ignoreNulls: Whether a NULL attribute of an upsert keeps the value in force.
    ///   - recordDeletes: Whether deleted spans are rows of history (`deletes: record`).
    public static func history(
        _ records: [ChangeRecord],
        untracked: Set<Int> = [],
        ignoreNulls: Bool = false,
        recordDeletes: Bool = false
    ) -> [Version] {
        var result: [Version] = []
        let byKey = Dictionary(grouping: records, by: \.key)
        for key in byKey.keys.sorted() {
            // Order: event time, then arrival (load, then row).
            let ordered = byKey[key]!.sorted { ($0.eventTime, $0.arrival) < ($1.eventTime, $1.arrival) }
            // At one event time only the last arrival counts.
            var effective: [ChangeRecord] = []
            for record in ordered {
                if let last = effective.last, last.eventTime == record.eventTime { effective.removeLast() }
                effective.append(record)
            }
            // Walk them in order.
            var versions: [Version] = []
            for record in effective {
                let inForce = versions.last.flatMap { $0.end == nil && !$0.isDeleted ? $0 : nil }
                switch record.operation {
                case .upsert:
                    // A key that comes back ends its deleted span, and opens a version below.
                    if let last = versions.last, last.isDeleted, last.end == nil {
                        versions[versions.count - 1].end = record.eventTime
                    }
                    var attributes = record.attributes
                    if ignoreNulls, let inForce {
                        for index in attributes.indices where attributes[index] == .null {
                            attributes[index] = inForce.attributes[index]
                        }
                    }
                    if let inForce, sameAttributes(inForce.attributes, attributes) { continue }
                    if let inForce {
                        let trackedSame = attributes.indices.allSatisfy {
                            untracked.contains($0) || Cell(inForce.attributes[$0]) == Cell(attributes[$0])
                        }
                        if trackedSame {
                            versions[versions.count - 1].attributes = attributes
                            continue
                        }
                        versions[versions.count - 1].end = record.eventTime
                    }
                    versions.append(Version(key: key, attributes: attributes, start: record.eventTime, end: nil))
                case .delete:
                    guard let inForce else { continue }
                    versions[versions.count - 1].end = record.eventTime
                    if recordDeletes {
                        versions.append(
                            Version(key: key, attributes: inForce.attributes, start: record.eventTime, end: nil, isDeleted: true)
                        )
                    }
                }
            }
            result += versions
        }
        return result
    }

    /// The late records, by key, then arrival: each record whose event time is earlier than
    /// that of a record of its key that arrived before it.
    public static func lateRecords(_ records: [ChangeRecord]) -> [LateRecord] {
        var latest: [Key: Timestamp] = [:]
        var late: [LateRecord] = []
        for record in records.sorted(by: { $0.arrival < $1.arrival }) {
            if let before = latest[record.key], record.eventTime < before {
                late.append(
                    LateRecord(
                        key: record.key,
                        eventTime: record.eventTime,
                        operation: record.operation,
                        loadID: record.arrival.load,
                        row: record.arrival.row,
                        latestBefore: before
                    )
                )
            } else {
                latest[record.key] = record.eventTime
            }
        }
        return late.sorted { ($0.key, $0.loadID, $0.row) < ($1.key, $1.loadID, $1.row) }
    }

    /// SCD1: the open versions (their start is the row's `update_timestamp`).
    public static func current(_ records: [ChangeRecord], untracked: Set<Int> = [], ignoreNulls: Bool = false) -> [Version] {
        history(records, untracked: untracked, ignoreNulls: ignoreNulls).filter { $0.end == nil }
    }

    /// NULL-safe, byte-exact equality of attribute lists.
    public static func sameAttributes(_ lhs: [Value], _ rhs: [Value]) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { Cell($0) == Cell($1) }
    }
}

/// A stored value compared byte for byte: `Value`'s own `==` treats canonically equivalent
/// strings ("Zoë" composed and decomposed) as equal, SQL does not.
public enum Cell: Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case bytes([UInt8])

    public init(_ value: Value) {
        switch value {
        case .null: self = .null
        case .integer(let number): self = .integer(number)
        case .text(let text): self = .bytes(Array(text.utf8))
        }
    }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let number): String(number)
        case .bytes(let bytes): String(decoding: bytes, as: UTF8.self).debugDescription
        }
    }
}

extension Version {
    /// The version as a `customer_history` row: key, attributes, start_time, end_time, is_current.
    public var historyRow: [Cell] {
        (key.values + attributes + [start.value, (end ?? .openEnd).value, .integer(end == nil ? 1 : 0)]).map(Cell.init)
    }

    /// The row under `deletes: record`: ``historyRow`` then is_deleted.
    public var historyRowWithDeletes: [Cell] {
        historyRow + [.integer(isDeleted ? 1 : 0)]
    }

    /// The version as a `customer` (SCD1) row: key, attributes, update_timestamp.
    public var currentRow: [Cell] {
        (key.values + attributes + [start.value]).map(Cell.init)
    }
}
