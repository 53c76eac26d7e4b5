import FirnCore
import FirnGenerate
import Foundation

/// Writes a ``BenchWorkload`` as CSV files, for `firn bench load --files DIR` and for feeding
/// the whole pipeline (reader included) with exactly the records the in-process run uses.
///
/// Files are named so that they sort in load order: `000000-base.csv` (the N base customers),
/// then `000001.csv` … one per batch. Each has the header
/// `customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op`,
/// CRLF line ends and RFC 4180 quoting (a field with a comma, quote, CR or LF is quoted, quotes
/// doubled; an empty string is `""`, NULL an unquoted empty field). `update_timestamp` is
/// ISO-8601 UTC with microseconds (`2024-01-01T00:00:00.001000Z`); `op` is `I` for a new
/// customer, `U` for an update, `D` for a delete.
public enum WorkloadFiles {
    /// The CSV header line's columns.
    public static let header = CustomerCSV.header

    /// Writes the base and `batches` batches of `size` rows of the workload for `seed`.
    ///
    /// - Parameters:
    ///   - directory: Where to write; created if missing. Existing files of the same names are replaced.
    ///   - seed: The workload seed (the in-process benchmark with this seed uses the same records).
    ///   - n: Base customers (the first file).
    ///   - batches: Batch files after it.
    ///   - size: Rows per batch file.
    /// - Returns: The files written, in load order.
    /// - Throws: ``LoadBenchmarkError/write(path:reason:)``.
    @discardableResult
    public static func write(
        to directory: URL,
        seed: UInt64,
        n: Int,
        batches: Int,
        size: Int
    ) throws(LoadBenchmarkError) -> [URL] {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .write(path: directory.path, reason: "\(error)")
        }
        var workload = BenchWorkload(seed: seed)
        var written: [URL] = []
        var maxKey: Int64 = 0
        let base = directory.appendingPathComponent("000000-base.csv")
        try write(workload.base(n), to: base, knownKeys: &maxKey)
        written.append(base)
        for batch in 0..<batches {
            let url = directory.appendingPathComponent(fileName(batch + 1))
            try write(workload.nextBatch(size: size), to: url, knownKeys: &maxKey)
            written.append(url)
        }
        return written
    }

    /// The name of batch file `number` (1-based): `000001.csv`.
    static func fileName(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".csv"
    }

    private static func write(_ records: [ChangeRecord], to url: URL, knownKeys: inout Int64) throws(LoadBenchmarkError)
    {
        let text = csv(records, knownKeys: &knownKeys)
        do {
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw .write(path: url.path, reason: "\(error)")
        }
    }

    /// The CSV text of `records`, header included. A key above `knownKeys` is a new customer
    /// (`op` `I`); `knownKeys` becomes the largest key seen.
    static func csv(_ records: [ChangeRecord], knownKeys: inout Int64) -> String {
        var out = header.joined(separator: ",") + "\r\n"
        out.reserveCapacity(records.count * 110)
        for record in records {
            let key: Int64
            if case .integer(let value) = record.key.values.first { key = value } else { key = 0 }
            out += String(key)
            for value in record.attributes {
                out += ","
                switch value {
                case .null: break
                case .integer(let integer): out += String(integer)
                case .text(let text): out += quoted(text)
                }
            }
            out += "," + isoTime(record.eventTime) + ","
            switch record.operation {
            case .delete: out += "D"
            case .upsert: out += key > knownKeys ? "I" : "U"
            }
            out += "\r\n"
            knownKeys = max(knownKeys, key)
        }
        return out
    }

    /// `text` as an RFC 4180 field (``CustomerCSV/quoted(_:)``).
    static func quoted(_ text: String) -> String { CustomerCSV.quoted(text) }

    /// `2024-01-01T00:00:00.001000Z` (``CustomerCSV/isoTime(_:)``).
    static func isoTime(_ time: Timestamp) -> String { CustomerCSV.isoTime(time) }
}
