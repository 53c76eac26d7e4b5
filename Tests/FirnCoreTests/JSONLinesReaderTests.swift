import Testing

@testable import FirnCore

@Suite("JSON Lines reader")
struct JSONLinesReaderTests {
    let directory: TestDirectory

    init() throws {
        directory = try TestDirectory()
    }

    func read(_ lines: [String], entity: EntityConfiguration = .customer) throws -> FileContents {
        try readFile(try directory.write(lines.joined(separator: "\n"), to: "changes.jsonl"), entity: entity)
    }

    @Test("members match columns case-insensitively; a missing member is NULL; null is NULL")
    func members() throws {
        let line =
            #"{"Customer_ID": 7, "FIRST_NAME": "Ada", "email": null, "city": "Zoë \"Z\" \u00e9\ud83d\ude00", "x": [1]}"#
        let contents = try read([line])
        #expect(contents.rejects.isEmpty)
        let record = try #require(contents.records.first)
        #expect(record.key == Key(7))
        #expect(record.eventTime == loadTime)
        #expect(record.operation == .upsert)
        #expect(record.arrival == Arrival(load: 7, row: 1))
        #expect(record.attributes == [.text("Ada"), .null, .null, .null, .text("Zoë \"Z\" é😀"), .null, .null])
    }

    @Test("ignored members are reported; when one line has the event-time member, a line without it is rejected")
    func ignoredAndEventTime() throws {
        let path = try directory.write(
            #"{"customer_id": 1, "Extra": 1}"# + "\n"
                + #"{"customer_id": 2, "update_timestamp": "2026-01-01", "extra": 2, "b": 0}"#,
            to: "c.ndjson"
        )
        var reader = try RecordFileReader(path: path, entity: .customer, load: 1, defaultEventTime: loadTime)
        let before = reader.hasEventTime
        let chunk = try #require(try reader.nextChunk())
        let (ignored, after) = (reader.ignoredColumns, reader.hasEventTime)
        #expect(!before && after)
        #expect(ignored == ["Extra", "b"])
        #expect(chunk.records.map(\.eventTime) == [Timestamp(year: 2026, month: 1, day: 1)!])
        #expect(
            chunk.rejects.map(\.reason) == [
                "missing update_timestamp: other lines of this file have it, so each needs it"
            ]
        )
        #expect(
            reader.warnings == [
                "no `op` member in any line: every line is treated as an upsert",
                "members not in the entity: Extra, b",
            ]
        )
    }

    @Test("numbers fit integer, decimal and text columns; booleans boolean and text columns")
    func typedValues() throws {
        let line =
            #"{"region": "eu", "account_id": 3, "name": 12.50, "balance": 12.50, "active": true, "opened": "2024-02-29", "#
            + #""seen": "2026-11-24T10:15:30Z", "age": "41", "changed_at": "2026-01-01 00:00:00", "action": "D"}"#
        // The event-time member is all or nothing within a file, so both lines have it.
        let other =
            #"{"region": "eu", "account_id": "4", "name": false, "balance": "-0.0", "active": 0, "age": -5, "#
            + #""changed_at": "2026-01-02"}"#
        let contents = try read([line, other], entity: accountEntity)
        #expect(contents.rejects.isEmpty)
        #expect(contents.records.count == 2)
        #expect(
            contents.records.first?.attributes == [
                .text("12.50"), .text("12.5"), .integer(1), .text("2024-02-29"), .text("2026-11-24 10:15:30.000000"),
                .integer(41),
            ]
        )
        #expect(contents.records.first?.operation == .delete)
        #expect(contents.records.last?.key == Key([.text("eu"), .integer(4)]))
        #expect(
            contents.records.last?.attributes == [.text("false"), .text("0"), .integer(0), .null, .null, .integer(-5)]
        )
    }

    @Test("blank lines are skipped; row numbers are line numbers")
    func blankLines() throws {
        let contents = try read(["", #"{"customer_id": 1}"#, "  ", "\r", #"{"customer_id": 2}"#, ""])
        #expect(contents.records.map(\.arrival.row) == [2, 5])
        #expect(contents.lastRows == [5])
    }

    @Test("reject reasons")
    func rejects() throws {
        let lines = [
            #"[1, 2]"#,
            #"not json"#,
            #"{"customer_id": 1,}"#,
            #"{"customer_id": 1} x"#,
            #"{"first_name": "Ada"}"#,
            #"{"customer_id": null}"#,
            #"{"customer_id": ""}"#,
            #"{"customer_id": 1.5}"#,
            #"{"customer_id": 1, "city": {"a": 1}}"#,
            #"{"customer_id": 1, "CITY": "a", "city": "b"}"#,
            #"{"customer_id": 1, "update_timestamp": null}"#,
            #"{"customer_id": 1, "update_timestamp": "2026-13-01"}"#,
            #"{"customer_id": 1, "op": "X"}"#,
            #"{"customer_id": 1, "city": "\ud800"}"#,
            #"{"customer_id": 1, "city": "a"#,
            #"{"customer_id": true}"#,
        ]
        // Some lines have the event-time member, so the last one needs it too.
        let contents = try read(lines + [#"{"customer_id": 99, "op": null, "update_timestamp": "2026-01-01"}"#])
        #expect(contents.records.map(\.key) == [Key(99)])
        #expect(contents.records.first?.arrival.row == 17)
        #expect(
            contents.rejects.map(\.reason) == [
                "line is JSON but not an object",
                "line is not a JSON object",
                "invalid JSON at byte 19: expected a member name in double quotes",
                "invalid JSON at byte 20: text after the object",
                "missing key customer_id",
                "missing key customer_id",
                "missing key customer_id",
                "value \"1.5\" in column customer_id is not an integer",
                "member city holds a JSON object or array; expected a single value",
                "member \"city\" appears twice",
                "missing update_timestamp",
                "bad timestamp \"2026-13-01\" in column update_timestamp",
                "unknown op \"X\" (expected I, U or D)",
                "invalid JSON at byte 35: unpaired surrogate in \\u escape",
                "invalid JSON at byte 30: unterminated string",
                "value \"true\" in column customer_id is not an integer",
            ]
        )
        #expect(contents.rejects.map(\.rawText) == lines)
        #expect(contents.rejects.map(\.row) == Array(1...16))
    }

    @Test("invalid UTF-8 in a line is rejected with U+FFFD in its raw text")
    func invalidUTF8() throws {
        let bytes = Array(#"{"customer_id": 1, "city": "a"#.utf8) + [0xC3] + Array("\"}\r\n".utf8)
        let contents = try readFile(try directory.write(bytes, to: "a.jsonl"))
        #expect(contents.rejects.map(\.reason) == ["invalid JSON at byte 31: invalid UTF-8 in a string"])
        #expect(contents.rejects.first?.rawText == "{\"customer_id\": 1, \"city\": \"a\u{FFFD}\"}")
    }

    @Test("an over-long line is rejected with a bounded raw text")
    func longLine() throws {
        let big = String(repeating: "x", count: 50_000)
        let path = try directory.write(
            "{\"customer_id\": 1, \"city\": \"\(big)\"}\n{\"customer_id\": 2, \"city\": \"\(big.prefix(2_000))\"}\n"
                + "{\"customer_id\": 3}",
            to: "a.jsonl"
        )
        let contents = try readFile(
            path,
            configuration: ReaderConfiguration(maxFieldBytes: 1_000, readBufferBytes: 512)
        )
        #expect(contents.records.map(\.key) == [Key(3)])
        #expect(
            contents.rejects.map(\.reason) == [
                "line is 50030 bytes, over the limit of 8000 bytes",
                "field in column city is 2000 bytes, over the limit of 1000 bytes",
            ]
        )
        #expect(contents.rejects[0].rawText.utf8.count < 4200)
    }

    @Test("a file may be forced to a format whatever its name")
    func forcedFormat() throws {
        let path = try directory.write(#"{"customer_id": 1}"#, to: "data.txt")
        #expect(try readFile(path, format: .jsonLines).records.map(\.key) == [Key(1)])
    }
}
