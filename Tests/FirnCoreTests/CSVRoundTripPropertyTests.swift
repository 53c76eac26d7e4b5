import PropertyBased
import Testing

@testable import FirnCore

/// A minimal RFC 4180 writer: NULL is an empty unquoted field, the empty string `""`; other
/// fields are quoted when they must be, or when `quoteAnyway`.
func csvLine(_ fields: [String?], quoteAnyway: (Int) -> Bool) -> String {
    fields.enumerated().map { index, field in
        guard let field else { return "" }
        let mustQuote = field.isEmpty || field.unicodeScalars.contains(where: { ",\"\r\n".unicodeScalars.contains($0) })
        guard mustQuote || quoteAnyway(index) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }.joined(separator: ",")
}

@Suite("CSV round trip")
struct CSVRoundTripPropertyTests {
    static let pieces = ["a", "Z", "0", " ", ",", "\"", "\r", "\n", "\r\n", "é", "😀", "日本", "''", "\t", "ab cd"]

    static func randomValue(_ random: inout SplitMix64) -> String? {
        switch Int.random(in: 0..<10, using: &random) {
        case 0: return nil
        case 1: return ""
        default:
            let count = Int.random(in: 1...6, using: &random)
            return (0..<count).map { _ in pieces.randomElement(using: &random)! }.joined()
        }
    }

    @Test("random rows written as CSV read back as exactly those values")
    func randomRowsReadBack() async throws {
        let directory = try TestDirectory()
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var random = SplitMix64(seed: seed)
            let attributeNames = EntityConfiguration.customer.attributeColumns.map(\.name.rawValue)
            var columns = ["customer_id"] + attributeNames
            columns.shuffle(using: &random)
            if Bool.random(using: &random) { columns.append("ignored_extra") }
            let rowCount = Int.random(in: 0...25, using: &random)
            var expected: [(id: Int64, attributes: [Value])] = []
            var lines = [columns.map { Bool.random(using: &random) ? $0.uppercased() : $0 }.joined(separator: ",")]
            for row in 0..<rowCount {
                let id = Int64.random(in: -1_000_000...1_000_000, using: &random)
                var values: [String: String?] = [:]
                for name in columns where name != "customer_id" { values[name] = Self.randomValue(&random) }
                let fields = columns.map { $0 == "customer_id" ? String(id) : values[$0]! }
                let quoting = (0..<fields.count).map { _ in Bool.random(using: &random) }
                lines.append(csvLine(fields, quoteAnyway: { quoting[$0] }))
                let attributes = attributeNames.map { name in values[name]!.map(Value.text) ?? .null }
                expected.append((id, attributes))
                _ = row
            }
            // CR alone is how old "CSV (Macintosh)" exports end lines.
            let lineEnd = ["\r\n", "\n", "\r"].randomElement(using: &random)!
            var text = lines.joined(separator: lineEnd)
            if Bool.random(using: &random) { text += lineEnd }
            if Bool.random(using: &random) { text = "\u{FEFF}" + text }
            let configuration = ReaderConfiguration(
                chunkRows: Int.random(in: 1...10, using: &random),
                readBufferBytes: Int.random(in: 16...200, using: &random)
            )
            do {
                let path = try directory.write(text, to: "p\(seed).csv")
                let contents = try readFile(path, configuration: configuration)
                #expect(contents.rejects.isEmpty, "seed \(seed)")
                #expect(contents.records.map(\.key) == expected.map { Key($0.id) }, "seed \(seed)")
                #expect(contents.records.map(\.attributes) == expected.map(\.attributes), "seed \(seed)")
                #expect(contents.records.map(\.arrival.row) == (0..<Int64(rowCount)).map { $0 + 1 }, "seed \(seed)")
            } catch {
                Issue.record("seed \(seed): \(error)")
            }
        }
    }
}
