#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One field of a record as Firn stores it: the warehouse's own three storage classes.
///
/// Typed columns map onto these cases so that equality is exact and backend-neutral:
/// integers and booleans (`0`/`1`) are ``integer(_:)``; text, decimals (canonical text, see
/// ``ColumnType/decimal``), dates (`YYYY-MM-DD`) and timestamps (``Timestamp/description``)
/// are ``text(_:)``. Equality is NULL-safe: ``null`` equals ``null``, which is exactly the
/// comparison the SCD contract needs ("an upsert whose attributes equal (NULL-safely) ...").
public enum Value: Sendable, Hashable {
    /// SQL NULL: an unquoted empty CSV field, a JSON `null` or a missing JSON member.
    case null
    /// A 64-bit integer (also booleans, as `0` and `1`).
    case integer(Int64)
    /// UTF-8 text (also decimals, dates and timestamps in their canonical text forms).
    case text(String)

    /// `true` for ``null``.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension Value {
    /// Exact equality: text compares byte for byte (UTF-8), as SQL compares it, not by
    /// Swift's canonical equivalence (which calls "Zoë" composed and decomposed equal).
    public static func == (lhs: Value, rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.integer(let a), .integer(let b)): a == b
        case (.text(let a), .text(let b)): sameBytes(a, b)
        default: false
        }
    }

    /// Whether two strings hold the same UTF-8 bytes: lengths first, then one `memcmp` of
    /// their contiguous bytes (half the time of walking both UTF-8 views byte by byte; the
    /// planner compares every attribute of every upsert with its open version).
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        let (left, right) = (a.utf8, b.utf8)
        guard left.count == right.count else { return false }
        let compared: Bool?? = left.withContiguousStorageIfAvailable { left in
            right.withContiguousStorageIfAvailable { right in
                left.isEmpty || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0
            }
        }
        if let compared, let compared { return compared }
        return left.elementsEqual(right)
    }

    /// Hashes consistently with ``==(_:_:)``: text by its UTF-8 bytes.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null:
            hasher.combine(0 as UInt8)
        case .integer(let value):
            hasher.combine(1 as UInt8)
            hasher.combine(value)
        case .text(var value):
            hasher.combine(2 as UInt8)
            hasher.combine(value.utf8.count)
            value.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }
}

extension Value: CustomStringConvertible {
    /// The value as a person reads it: `NULL`, the integer, or the text unquoted.
    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): String(value)
        case .text(let value): value
        }
    }
}

/// The key of one entity instance: the values of its key columns, in the entity's key order.
///
/// A key of one integer column (the built-in customer's `customer_id`) is stored as that
/// integer, so hashing, comparing and binding it cost no allocation; any other key keeps its
/// values. The two forms never describe the same key: ``init(_:)-([Value])`` normalises.
public struct Key: Sendable, Hashable, Comparable, CustomStringConvertible {
    enum Storage: Sendable, Hashable {
        case integer(Int64)
        case values([Value])
    }

    let storage: Storage

    /// Creates a key from its column values.
    public init(_ values: [Value]) {
        if values.count == 1, case .integer(let integer) = values[0] {
            storage = .integer(integer)
        } else {
            storage = .values(values)
        }
    }

    /// A key of one integer column (the built-in customer entity's `customer_id`).
    public init(_ integer: Int64) {
        storage = .integer(integer)
    }

    /// The key columns' values, in the order ``EntityConfiguration/keyColumns`` declares them.
    public var values: [Value] {
        switch storage {
        case .integer(let integer): [.integer(integer)]
        case .values(let values): values
        }
    }

    /// The key's value when it is a single integer, else `nil`.
    public var integer: Int64? {
        if case .integer(let integer) = storage { return integer }
        return nil
    }

    /// Keys order column by column; NULL sorts first, integers before text.
    public static func < (lhs: Key, rhs: Key) -> Bool {
        if case .integer(let left) = lhs.storage, case .integer(let right) = rhs.storage { return left < right }
        let (left, right) = (lhs.values, rhs.values)
        for (a, b) in zip(left, right) where a != b {
            return a.sortsBefore(b)
        }
        return left.count < right.count
    }

    /// The key as text: the values joined by `|` (`42`, `eu|42`).
    public var description: String {
        switch storage {
        case .integer(let integer): String(integer)
        case .values(let values): values.map(\.description).joined(separator: "|")
        }
    }
}

extension Value {
    /// SQLite's order of storage classes: NULL, then numbers, then text (binary collation).
    func sortsBefore(_ other: Value) -> Bool {
        switch (self, other) {
        case (.null, .null): false
        case (.null, _): true
        case (_, .null): false
        case (.integer(let a), .integer(let b)): a < b
        case (.integer, .text): true
        case (.text, .integer): false
        case (.text(let a), .text(let b)): Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
        }
    }
}
