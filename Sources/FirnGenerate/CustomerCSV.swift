import FirnCore

/// How synthetic customer changes are written as CSV: the header, RFC 4180 quoting and the
/// event-time format, shared by `firn generate` and the benchmark's workload files.
///
/// - Header: `customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op`.
/// - A field holding a comma, a quote, CR or LF, or nothing at all, is quoted, its quotes
///   doubled (`"Korea, Republic of"`, `"say ""hi"""`, `""`); an unquoted empty field is NULL.
///   Text is UTF-8 as is (`Müller`).
/// - `update_timestamp` is ISO-8601 UTC with microseconds: `2024-01-01T00:00:00.001000Z`.
/// - `op` is `I` (a new customer), `U` (an update) or `D` (a delete).
public enum CustomerCSV {
    /// The header's columns.
    public static let header = [
        "customer_id", "first_name", "last_name", "email", "street", "city", "state", "country", "update_timestamp",
        "op",
    ]

    /// `text` as an RFC 4180 field: quoted when it holds a comma, quote, CR or LF, or is empty.
    ///
    /// - Parameter text: The field's value.
    /// - Returns: The field as it goes into the file.
    public static func quoted(_ text: String) -> String {
        guard needsQuotes(text) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The event-time text: `2024-01-01T00:00:00.001000Z`.
    ///
    /// - Parameter time: The instant.
    /// - Returns: ISO-8601 UTC with six fraction digits; ``Timestamp/init(parsing:)`` reads it back exactly.
    public static func isoTime(_ time: Timestamp) -> String {
        var bytes: [UInt8] = []
        appendISOTime(time, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func needsQuotes(_ text: String) -> Bool {
        text.isEmpty
            || text.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 13 || $0 == 10 }
    }

    /// Appends `text` as a quoted-when-needed field (see ``quoted(_:)``).
    static func appendField(_ text: String, to out: inout [UInt8]) {
        guard needsQuotes(text) else {
            out.append(contentsOf: text.utf8)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends the ISO form of `time` (see ``isoTime(_:)``) without an intermediate string.
    static func appendISOTime(_ time: Timestamp, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: Timestamp.textLength))
        out.withUnsafeMutableBufferPointer { buffer in
            _ = time.write(into: UnsafeMutableBufferPointer(rebasing: buffer[start...]))
        }
        out[start + 10] = UInt8(ascii: "T")
        out.append(UInt8(ascii: "Z"))
    }

    /// Appends the header line (with `lineEnding`).
    static func appendHeader(to out: inout [UInt8], lineEnding: String) {
        out.append(contentsOf: header.joined(separator: ",").utf8)
        out.append(contentsOf: lineEnding.utf8)
    }
}
