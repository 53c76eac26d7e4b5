import FirnCore
import Foundation

/// How `firn query` and the other listing commands print rows.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Aligned columns for people; NULL prints as `NULL`.
    case table
    /// RFC 4180 CSV with a header; NULL is an unquoted empty field, the empty string `""`.
    case csv
    /// One JSON array of objects; NULL is `null`, integers are numbers.
    case json
}

extension QueryResult {
    /// The rows formatted for output, ending with a newline.
    public func formatted(as format: OutputFormat) -> String {
        switch format {
        case .table: tableText()
        case .csv: csvText()
        case .json: jsonText()
        }
    }

    func tableText() -> String {
        guard !columns.isEmpty else { return "" }
        let cells = rows.map { $0.map { $0.description.replacingOccurrences(of: "\n", with: "\\n") } }
        var widths = columns.map(\.count)
        for row in cells {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ values: [String]) -> String {
            values.enumerated().map { index, value in
                value + String(repeating: " ", count: widths[index] - value.count)
            }.joined(separator: " | ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = line(columns) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-") + "\n"
        for row in cells { out += line(row) + "\n" }
        out += "(\(rows.count) row\(rows.count == 1 ? "" : "s"))\n"
        return out
    }

    func csvText() -> String {
        func field(_ text: String, forceQuotes: Bool) -> String {
            if forceQuotes || text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return text
        }
        var out = columns.map { field($0, forceQuotes: false) }.joined(separator: ",") + "\r\n"
        for row in rows {
            out +=
                row.map { value -> String in
                    switch value {
                    case .null: ""
                    case .integer(let number): String(number)
                    case .text(let text): field(text, forceQuotes: text.isEmpty)
                    }
                }.joined(separator: ",") + "\r\n"
        }
        return out
    }

    func jsonText() -> String {
        func quote(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        let objects = rows.map { row in
            "{"
                + zip(columns, row).map { column, value in
                    let rendered: String
                    switch value {
                    case .null: rendered = "null"
                    case .integer(let number): rendered = String(number)
                    case .text(let text): rendered = quote(text)
                    }
                    return quote(column) + ":" + rendered
                }.joined(separator: ",") + "}"
        }
        return "[" + objects.joined(separator: ",\n ") + "]\n"
    }
}
