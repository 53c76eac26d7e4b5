import FirnCore
import FirnPostgresWarehouse
import NIOCore
import Testing

/// The `COPY` text Firn writes, against what Swift's own formatting and PostgreSQL's text
/// format (escapes, `\N`) say it must be.
@Suite struct PostgresCopyTextTests {
    private func text(_ rows: PostgresCopyRows) -> String {
        String(buffer: rows.buffer)
    }

    @Test func integersAreWrittenAsSwiftFormatsThem() {
        var generator = SplitMix64(seed: 7)
        var values: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1]
        for _ in 0..<2_000 {
            let raw = Int64(bitPattern: generator.next())
            values += [raw, raw >> Int64(generator.next() % 63)]
        }
        var rows = PostgresCopyRows()
        for value in values {
            rows.append(integer: value)
            rows.endRow()
        }
        #expect(text(rows) == values.map { "\($0)\n" }.joined())
    }

    @Test func keysValuesAndEscapes() {
        var rows = PostgresCopyRows()
        rows.append(key: Key(42))
        rows.append(key: Key([.text("a\tb"), .integer(-7)]))
        rows.append([.null, .text("x\\y\nz\r")], paddedTo: 3)
        rows.endRow()
        #expect(text(rows) == "42\ta\\tb\t-7\t\\N\tx\\\\y\\nz\\r\t\\N\n")
        #expect(rows.count == 1)
    }

    /// Random rows of every kind of field, against the format written out plainly: fields
    /// joined by tabs, `\N` for NULL, each escapable byte as a backslash and a letter.
    @Test func randomRowsMatchTheFormatWrittenPlainly() {
        var generator = SplitMix64(seed: 11)
        let alphabet: [Character] = ["a", "Z", "0", " ", "\t", "\n", "\r", "\\", "é", "中", "N", ","]
        func reference(_ value: Value) -> String {
            switch value {
            case .null: "\\N"
            case .integer(let number): "\(number)"
            case .text(let text):
                text.unicodeScalars.map { scalar -> String in
                    switch scalar {
                    case "\\": "\\\\"
                    case "\t": "\\t"
                    case "\n": "\\n"
                    case "\r": "\\r"
                    default: String(scalar)
                    }
                }.joined()
            }
        }
        var rows = PostgresCopyRows()
        var expected = ""
        for _ in 0..<2_000 {
            var fields: [String] = []
            let time = Timestamp(canonical: "2026-01-0\(1 + generator.next() % 9) 10:11:12.\(100_000 + generator.next() % 900_000)")!
            rows.append(timestamp: time)
            fields.append(time.description)
            let width = Int(generator.next() % 6)
            var values: [Value] = []
            for _ in 0..<Int(generator.next() % 6) {
                switch generator.next() % 3 {
                case 0: values.append(.null)
                case 1: values.append(.integer(Int64(bitPattern: generator.next()) >> Int64(generator.next() % 63)))
                default:
                    let length = Int(generator.next() % 40)
                    values.append(.text(String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })))
                }
            }
            rows.append(values, paddedTo: width)
            fields += (0..<width).map { $0 < values.count ? reference(values[$0]) : "\\N" }
            rows.endRow()
            expected += fields.joined(separator: "\t") + "\n"
        }
        #expect(text(rows) == expected)
        #expect(rows.count == 2_000)
    }
}
