import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A row count and an order-sensitive 64-bit FNV-1a digest of a table's rows, to compare
/// tables kept by different engines without holding them in memory.
///
/// Each field is hashed as its text (integers in decimal), NULL as a distinct marker; fields
/// and rows are separated by bytes that text cannot contain, so `("ab", "c")` and `("a", "bc")`
/// differ. Feed rows in the same order (key order) on both sides.
public struct TableDigest: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Rows added.
    public private(set) var rows = 0
    /// The digest so far.
    public private(set) var hash: UInt64 = 0xCBF2_9CE4_8422_2325

    /// An empty digest.
    public init() {}

    /// Adds one row; `nil` stands for NULL.
    public mutating func add(_ fields: [String?]) {
        for field in fields {
            if let field {
                for byte in field.utf8 { mix(byte) }
                mix(0x1F)
            } else {
                mix(0x00)
                mix(0x1F)
            }
        }
        mix(0x1E)
        rows += 1
    }

    private mutating func mix(_ byte: UInt8) {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    /// `rows` and the hash in hex: `312345 rows, fnv 9f3c…`.
    public var description: String { "\(rows) rows, fnv \(hex)" }

    /// The hash as 16 hex digits.
    public var hex: String {
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Digests the rows of `sql` (put an `ORDER BY` in it) read from `db`.
    static func of(_ db: Database, sql: String) throws -> TableDigest {
        var digest = TableDigest()
        let cursor = try Row.fetchCursor(db, sql: sql)
        while let row = try cursor.next() {
            var fields: [String?] = []
            fields.reserveCapacity(row.count)
            for index in 0..<row.count {
                let value: DatabaseValue = row[index]
                switch value.storage {
                case .null: fields.append(nil)
                case .int64(let integer): fields.append(String(integer))
                case .string(let text): fields.append(text)
                case .double(let double): fields.append(String(double))
                case .blob(let data): fields.append(String(decoding: data, as: UTF8.self))
                }
            }
            digest.add(fields)
        }
        return digest
    }
}

/// The two customer tables' digests of one database file (Firn's or the baseline's: both use
/// the same table and column names).
struct TableDigests: Sendable {
    var current: TableDigest
    var history: TableDigest

    static let attributeColumns = "first_name, last_name, email, street, city, state, country"

    /// Reads both tables of the database at `path` (open no other writer on it meanwhile).
    static func read(path: String) throws -> TableDigests {
        // The engine that wrote the file may still be closing it (the last connection to close
        // checkpoints the log under an exclusive lock): wait for that rather than fail.
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        return try queue.read { db in
            TableDigests(
                current: try TableDigest.of(
                    db,
                    sql: "SELECT customer_id, \(attributeColumns), update_timestamp FROM customer ORDER BY customer_id"
                ),
                history: try TableDigest.of(
                    db,
                    sql: """
                        SELECT customer_id, \(attributeColumns), start_time, end_time, is_current
                        FROM customer_history ORDER BY customer_id, start_time
                        """
                )
            )
        }
    }
}

/// Process measurements: a monotonic clock and peak resident memory.
enum ProcessProbe {
    /// Nanoseconds on the monotonic clock.
    static func nanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Resets the kernel's peak-RSS mark (`VmHWM`) to the current RSS, so the next
    /// ``peakResidentBytes()`` covers only what follows; `false` where that is not possible
    /// (then the peak is the process's since start).
    @discardableResult
    static func resetPeak() -> Bool {
        #if os(Linux)
        // Writing 5 to clear_refs resets the peak RSS (Linux 4.0+; see proc(5)).
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
        #else
        return false
        #endif
    }

    /// Bytes the process has handed to `write`-family calls so far (`wchar` of
    /// `/proc/self/io`: every thread, the page cache's copy, not the disk's); `nil` where that
    /// file is missing.
    static func writtenBytes() -> Int64? {
        guard let io = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return nil }
        for line in io.split(separator: "\n") where line.hasPrefix("wchar:") {
            return Int64(line.dropFirst("wchar:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// The process's peak resident set in bytes: `VmHWM` from `/proc/self/status` (since the
    /// last ``resetPeak()``), else `getrusage`'s `ru_maxrss`. Process-wide: includes the
    /// workload generator and everything else in the process.
    static func peakResidentBytes() -> Int64 {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                let digits = line.split(separator: " ").compactMap { Int64($0) }
                if let kib = digits.first { return kib * 1024 }
            }
        }
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int64(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int64(usage.ru_maxrss)
        #endif
    }
}

extension Array where Element == Double {
    /// The nearest-rank percentile (`0.5` the median) of the values; 0 when empty.
    func percentile(_ fraction: Double) -> Double {
        guard !isEmpty else { return 0 }
        let sorted = self.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]
    }
}
