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
}
