import Testing

@testable import FirnCore

@Suite("Column value parsing")
struct ColumnValueParsingTests {
    func parse(_ text: String, _ type: ColumnType, column: Identifier = "age") -> Result<Value, FieldValueError> {
        Result { () throws(FieldValueError) in try type.value(parsing: text, column: column) }
    }

    @Test("text is kept as is; empty text is the empty string")
    func text() {
        #expect(parse(" a, \"b\" ", .text) == .success(.text(" a, \"b\" ")))
        #expect(parse("", .text) == .success(.text("")))
        #expect(parse("Zoë 😀", .text) == .success(.text("Zoë 😀")))
    }

    @Test(
        "integers: optional sign, digits, 64-bit range",
        arguments: [
            ("0", Int64(0)), ("42", 42), ("+7", 7), ("-12", -12), ("007", 7),
            ("9223372036854775807", .max), ("-9223372036854775808", .min),
        ]
    )
    func integers(text: String, expected: Int64) {
        #expect(parse(text, .integer) == .success(.integer(expected)))
    }

    @Test("integer refusals name the column and value")
    func integerRefusals() {
        #expect(
            parse("12a", .integer) == .failure(FieldValueError(reason: "value \"12a\" in column age is not an integer"))
        )
        for text in ["1.0", " 1", "1 ", "+", "-", "1e3", "0x10", "١٢"] {
            #expect(throws: FieldValueError.self, "\(text)") {
                try ColumnType.integer.value(parsing: text, column: "age")
            }
        }
        #expect(
            parse("9223372036854775808", .integer)
                == .failure(
                    FieldValueError(
                        reason: "value \"9223372036854775808\" in column age is outside the 64-bit integer range"
                    )
                )
        )
        #expect(parse("", .integer) == .success(.null))
    }

    @Test(
        "decimals become canonical text",
        arguments: [
            ("12.50", "12.5"), ("-0.0", "0"), ("007.10", "7.1"), (".5", "0.5"), ("5.", "5"), ("+3.140", "3.14"),
            ("-0.050", "-0.05"), ("0", "0"), ("100", "100"), ("-100.000", "-100"), ("000", "0"),
            ("123456789012345678901234567890.123", "123456789012345678901234567890.123"),
        ]
    )
    func decimals(text: String, expected: String) {
        #expect(parse(text, .decimal) == .success(.text(expected)))
    }

    @Test("decimal refusals", arguments: ["1e3", "1E-2", ".", "-", "1.2.3", "12,5", "abc", " 1", "--1", "1-"])
    func decimalRefusals(text: String) {
        guard case .failure(let error) = parse(text, .decimal, column: "balance") else {
            Issue.record("\(text) accepted")
            return
        }
        #expect(error.reason.hasPrefix("value \"\(text)\" in column balance is not a decimal"))
    }

    @Test("booleans in any case become 1 or 0")
    func booleans() {
        for text in ["true", "TRUE", "t", "T", "yes", "Yes", "1"] {
            #expect(parse(text, .boolean) == .success(.integer(1)))
        }
        for text in ["false", "False", "f", "F", "no", "NO", "0"] {
            #expect(parse(text, .boolean) == .success(.integer(0)))
        }
        for text in ["y", "n", "2", "truee", "on", " true", "-1", "tru"] {
            #expect(throws: FieldValueError.self, "\(text)") {
                try ColumnType.boolean.value(parsing: text, column: "a")
            }
        }
    }

    @Test("dates are validated YYYY-MM-DD")
    func dates() {
        #expect(parse("2024-02-29", .date) == .success(.text("2024-02-29")))
        for text in ["2025-02-29", "2026-13-01", "2026-1-01", "2026-01-01T00:00:00", "20260101", "x"] {
            #expect(throws: FieldValueError.self, "\(text)") { try ColumnType.date.value(parsing: text, column: "d") }
        }
        #expect(
            parse("2026-02-30", .date, column: "opened")
                == .failure(FieldValueError(reason: "value \"2026-02-30\" in column opened is not a date (YYYY-MM-DD)"))
        )
    }

    @Test("timestamps become their canonical UTC text")
    func timestamps() {
        #expect(parse("2026-11-24T10:15:30+01:00", .timestamp) == .success(.text("2026-11-24 09:15:30.000000")))
        #expect(
            parse("2026-13-01", .timestamp, column: "seen")
                == .failure(FieldValueError(reason: "bad timestamp \"2026-13-01\" in column seen"))
        )
    }

    @Test("long values are cut in reasons")
    func longValuesCut() {
        let text = String(repeating: "x", count: 200)
        guard case .failure(let error) = parse(text, .integer) else {
            Issue.record("accepted")
            return
        }
        #expect(error.reason == "value \"\(String(repeating: "x", count: 64))…\" in column age is not an integer")
    }
}

/// Types inferred for new columns (`schema_evolution: evolve`).
@Suite struct TypeInferenceTests {
    @Test func theNarrowestTypeEveryValueFits() {
        #expect(ColumnType.inferred(from: ["1", "-2", ""]) == .integer)
        #expect(ColumnType.inferred(from: ["1", "2.50"]) == .decimal)
        #expect(ColumnType.inferred(from: ["yes", "FALSE", "t"]) == .boolean)
        #expect(ColumnType.inferred(from: ["1", "0", "true"]) == .boolean)
        #expect(ColumnType.inferred(from: ["2026-03-01", "2026-12-31"]) == .date)
        #expect(ColumnType.inferred(from: ["2026-03-01", "2026-03-01T10:00:00Z"]) == .timestamp)
        #expect(ColumnType.inferred(from: ["1", "1e3"]) == .text)
        #expect(ColumnType.inferred(from: ["12", "gold"]) == .text)
        #expect(ColumnType.inferred(from: []) == .text)
        #expect(ColumnType.inferred(from: ["", ""]) == .text)
    }
}
