import Testing

@testable import FirnCore

@Suite("Record file reader")
struct RecordFileReaderTests {
    let directory: TestDirectory

    init() throws {
        directory = try TestDirectory()
    }

    func attributes(_ first: String, _ last: String, _ email: String, city: String = "Oslo") -> [Value] {
        [first, last, email, "1 Main St", city, "OS", "NO"].map { .text($0) }
    }

    @Test("a customer row becomes a record with its key, event time, op, attributes and arrival")
    func customerRecord() throws {
        let path = try directory.write(customerHeader + "\n" + customerRow(42) + "\n")
        let contents = try readFile(path, load: 9)
        #expect(contents.rejects.isEmpty)
        #expect(
            contents.records == [
                ChangeRecord(
                    key: Key(42),
                    eventTime: Timestamp(year: 2026, month: 11, day: 24, hour: 10, minute: 15, second: 30)!,
                    operation: .upsert,
                    attributes: attributes("Ada", "Lovelace", "ada@example.com"),
                    arrival: Arrival(load: 9, row: 1)
                )
            ]
        )
    }

    @Test("columns match by name in any order and case; unknown columns are ignored")
    func columnOrderAndCase() throws {
        let header = " CITY ,Email,Extra,op,Customer_ID,country,STATE,street,last_name,first_name,Update_Timestamp"
        let path = try directory.write(header + "\nBergen,b@x.no,zzz,u,5,NO,VL,Bryggen 1,Grieg,Edvard,2026-01-01\n")
        var reader = try RecordFileReader(path: path, entity: .customer, load: 1, defaultEventTime: loadTime)
        let (ignored, hasEventTime) = (reader.ignoredColumns, reader.hasEventTime)
        #expect(ignored == ["Extra"])
        #expect(hasEventTime)
        let chunk = try #require(try reader.nextChunk())
        #expect(chunk.records.map(\.key) == [Key(5)])
        #expect(
            chunk.records.first?.attributes
                == ["Edvard", "Grieg", "b@x.no", "Bryggen 1", "Bergen", "VL", "NO"].map { Value.text($0) }
        )
        #expect(chunk.records.first?.eventTime == Timestamp(year: 2026, month: 1, day: 1))
        let end = try reader.nextChunk()
        #expect(end == nil)
    }

    @Test("without an event-time column every record gets the default event time; without op, upsert")
    func defaultEventTimeAndOp() throws {
        let path = try directory.write(
            "customer_id,first_name,last_name,email,street,city,state,country\n1,a,b,c,d,e,f,g\n"
        )
        var reader = try RecordFileReader(path: path, entity: .customer, load: 1, defaultEventTime: loadTime)
        let (ignored, hasEventTime) = (reader.ignoredColumns, reader.hasEventTime)
        #expect(!hasEventTime)
        #expect(ignored.isEmpty)
        let record = try #require(try reader.nextChunk()?.records.first)
        #expect(record.eventTime == loadTime)
        #expect(record.operation == .upsert)
    }

    @Test("op: I, U, D in any case with spaces; empty is upsert; anything else is rejected")
    func operations() throws {
        let ops = ["I", "u", " d ", "", "\"\"", "U", "X", "DD", "\" D\""]
        let rows = ops.enumerated().map { customerRow($0.offset + 1, op: $0.element) }
        let contents = try readFile(try directory.write(([customerHeader] + rows).joined(separator: "\n")))
        #expect(contents.records.map(\.operation) == [.upsert, .upsert, .delete, .upsert, .upsert, .upsert, .delete])
        #expect(contents.records.map(\.arrival.row) == [1, 2, 3, 4, 5, 6, 9])
        #expect(contents.rejects.map(\.row) == [7, 8])
        #expect(
            contents.rejects.map(\.reason) == [
                "unknown op \"X\" (expected I, U or D)", "unknown op \"DD\" (expected I, U or D)",
            ]
        )
        #expect(contents.rejects.first?.rawText == customerRow(7, op: "X"))
    }

    @Test("each row-level reject reason")
    func rejectReasons() throws {
        let rows = [
            ",Ada,L,e,s,c,st,co,2026-01-01,I",
            "\"\",Ada,L,e,s,c,st,co,2026-01-01,I",
            "12a,Ada,L,e,s,c,st,co,2026-01-01,I",
            "3,Ada,L,e,s,c,st,co,,I",
            "4,Ada,L,e,s,c,st,co,2026-13-01,I",
            "5,Ada,L,e,s,c,st",
            "6,Ada,L,e,s,c,st,co,2026-01-01,I,extra",
            "",
            "7,\"Ada\"x,L,e,s,c,st,co,2026-01-01,I",
        ]
        let contents = try readFile(
            try directory.write(([customerHeader] + rows + [customerRow(8)]).joined(separator: "\n"))
        )
        #expect(contents.records.map(\.key) == [Key(8)])
        #expect(contents.records.first?.arrival.row == 10)
        #expect(
            contents.rejects.map(\.reason) == [
                "missing key customer_id",
                "missing key customer_id",
                "value \"12a\" in column customer_id is not an integer",
                "missing update_timestamp",
                "bad timestamp \"2026-13-01\" in column update_timestamp",
                "row has 7 fields, header has 10",
                "row has 11 fields, header has 10",
                "row is blank; header has 10 fields",
                "text after the closing quote in column first_name",
            ]
        )
        #expect(contents.rejects.map(\.row) == Array(1...9))
        #expect(contents.rejects.map(\.rawText) == rows)
    }

    @Test("invalid UTF-8 rejects the row naming the column; the raw text has U+FFFD")
    func invalidUTF8() throws {
        let bytes =
            Array((customerHeader + "\n1,Ada,L,e,s,").utf8) + [0xFF, 0xFE] + Array(",st,co,2026-01-01,I\n".utf8)
        let contents = try readFile(try directory.write(bytes))
        #expect(contents.rejects.map(\.reason) == ["invalid UTF-8 in column city"])
        #expect(contents.rejects.first?.rawText == "1,Ada,L,e,s,\u{FFFD}\u{FFFD},st,co,2026-01-01,I")
    }

    @Test("a NUL byte past the first 64 KiB rejects its row; the rest of the file loads")
    func nulBytePartWay() throws {
        var text = customerHeader + "\n"
        var id = 0
        while text.utf8.count < 70_000 {
            id += 1
            text += customerRow(id) + "\n"
        }
        let bytes =
            Array(text.utf8) + Array("999,Ada,L,e,s,".utf8) + [0] + Array(",st,co,2026-01-01,I\n".utf8)
            + Array((customerRow(1000) + "\n").utf8)
        let contents = try readFile(try directory.write(bytes))
        #expect(contents.records.count == id + 1)
        #expect(contents.rejects.map(\.reason) == ["NUL byte in column city; the row is partly binary"])
        #expect(contents.rejects.first?.row == Int64(id + 1))
    }

    @Test("NULL versus empty string in attributes; typed columns take empty as NULL")
    func nullVersusEmpty() throws {
        let header = "region,account_id,name,balance,active,opened,seen,age,changed_at,action"
        let rows = [
            "eu,1,,,,,,,2026-01-01,",
            "eu,2,\"\",\"\",\"\",\"\",\"\",\"\",2026-01-01,",
            "\"eu\",\"3\",\"Zoë, \"\"Z\"\"\",\"012.50\",YES,2024-02-29,2026-11-24T10:15:30+01:00,-4,2026-01-01,d",
        ]
        let contents = try readFile(
            try directory.write(([header] + rows).joined(separator: "\r\n")),
            entity: accountEntity
        )
        #expect(contents.rejects.isEmpty)
        #expect(
            contents.records.map(\.key) == [
                Key([.text("eu"), .integer(1)]), Key([.text("eu"), .integer(2)]), Key([.text("eu"), .integer(3)]),
            ]
        )
        #expect(contents.records[0].attributes == Array(repeating: .null, count: 6))
        #expect(contents.records[1].attributes == [.text("")] + Array(repeating: .null, count: 5))
        #expect(
            contents.records[2].attributes == [
                .text("Zoë, \"Z\""), .text("12.5"), .integer(1), .text("2024-02-29"),
                .text("2026-11-24 09:15:30.000000"), .integer(-4),
            ]
        )
        #expect(contents.records[2].operation == .delete)
    }

    @Test("values not of the column's type are rejected naming the column")
    func typedRejects() throws {
        let header = "region,account_id,name,balance,active,opened,seen,age,changed_at,action"
        let rows = [
            "eu,1,n,1e3,,,,,2026-01-01,", "eu,2,n,,maybe,,,,2026-01-01,", "eu,3,n,,,2026-02-30,,,2026-01-01,",
            "eu,4,n,,,,yesterday,,2026-01-01,", "eu,5,n,,,,,99999999999999999999,2026-01-01,", ",6,n,,,,,,2026-01-01,",
        ]
        let contents = try readFile(
            try directory.write(([header] + rows).joined(separator: "\n")),
            entity: accountEntity
        )
        #expect(contents.records.isEmpty)
        #expect(
            contents.rejects.map(\.reason) == [
                "value \"1e3\" in column balance is not a decimal (digits with an optional . and sign, no exponent)",
                "value \"maybe\" in column active is not a boolean (true/false, yes/no, t/f, 1/0)",
                "value \"2026-02-30\" in column opened is not a date (YYYY-MM-DD)",
                "bad timestamp \"yesterday\" in column seen",
                "value \"99999999999999999999\" in column age is outside the 64-bit integer range",
                "missing key region",
            ]
        )
    }

    @Test("a huge field rejects its row, keeps a bounded raw text, and reading goes on")
    func hugeField() throws {
        let big = String(repeating: "é", count: 40_000)
        let path = try directory.write(
            [customerHeader, customerRow(1, city: big), customerRow(2)].joined(separator: "\n")
        )
        let contents = try readFile(
            path,
            configuration: ReaderConfiguration(maxFieldBytes: 50_000, readBufferBytes: 1000)
        )
        #expect(contents.records.map(\.key) == [Key(2)])
        #expect(
            contents.rejects.map(\.reason) == ["field in column city is 80000 bytes, over the limit of 50000 bytes"]
        )
        #expect(contents.rejects[0].rawText.utf8.count < 4200)
        #expect(contents.rejects[0].rawText.hasPrefix("1,Ada,Lovelace"))
    }

    @Test("a 25,000-row file in chunks of 10,000 gives 10,000, 10,000 and 5,000 rows with their last rows")
    func chunking() throws {
        var text = customerHeader + "\n"
        for id in 1...25_000 { text += (id == 12_345 ? "bad" : customerRow(id)) + "\n" }
        let contents = try readFile(try directory.write(text), configuration: ReaderConfiguration(chunkRows: 10_000))
        #expect(contents.chunkSizes == [10_000, 10_000, 5_000])
        #expect(contents.lastRows == [10_000, 20_000, 25_000])
        #expect(contents.records.count == 24_999)
        #expect(contents.rejects.map(\.row) == [12_345])
        #expect(contents.records.map(\.arrival.row) == (1...25_000).filter { $0 != 12_345 }.map(Int64.init))
        #expect(contents.records.last?.key == Key(25_000))
    }

    @Test("a chunk ends after the row that reaches its byte bound, in CSV and JSON Lines")
    func chunkingByBytes() throws {
        // Ten rows of equal length (four-digit keys): a bound just over two rows makes chunks of three.
        let rows = (1000..<1010).map { customerRow($0) }
        let rowBytes = rows[0].utf8.count + 1
        let configuration = ReaderConfiguration(chunkRows: 1_000, chunkBytes: 2 * rowBytes + 1)
        let csv = try readFile(
            try directory.write(customerHeader + "\n" + rows.map { $0 + "\n" }.joined()),
            configuration: configuration
        )
        #expect(csv.chunkSizes == [3, 3, 3, 1])
        #expect(csv.lastRows == [3, 6, 9, 10])
        #expect(csv.records.map(\.key) == (1000..<1010).map { Key(Int64($0)) })

        let lines = (1000..<1010).map { #"{"customer_id": \#($0), "first_name": "Ada", "op": "I"}"# }
        let lineBytes = lines[0].utf8.count + 1
        let json = try readFile(
            try directory.write(lines.map { $0 + "\n" }.joined(), to: "changes.jsonl"),
            configuration: ReaderConfiguration(chunkRows: 1_000, chunkBytes: 4 * lineBytes)
        )
        #expect(json.chunkSizes == [4, 4, 2])
        #expect(json.records.count + json.rejects.count == 10)

        // The row bound still holds when it comes first; a bound of one byte gives one row each.
        let small = try readFile(
            try directory.write(customerHeader + "\n" + rows.map { $0 + "\n" }.joined(), to: "small.csv"),
            configuration: ReaderConfiguration(chunkRows: 2, chunkBytes: 1 << 20)
        )
        #expect(small.chunkSizes == [2, 2, 2, 2, 2])
        let single = try readFile(
            try directory.write(customerHeader + "\n" + rows.map { $0 + "\n" }.joined(), to: "single.csv"),
            configuration: ReaderConfiguration(chunkBytes: 1)
        )
        #expect(single.chunkSizes == Array(repeating: 1, count: 10))
    }

    @Test("a file with a header only has no chunks")
    func headerOnly() throws {
        var reader = try RecordFileReader(
            path: try directory.write(customerHeader + "\r\n"),
            entity: .customer,
            load: 1,
            defaultEventTime: loadTime
        )
        let first = try reader.nextChunk()
        let second = try reader.nextChunk()
        #expect(first == nil && second == nil)
    }

    @Test("file-level errors")
    func fileErrors() throws {
        let missing = directory.path + "/nope.csv"
        #expect(fileError(missing) == .cannotOpen(path: missing, reason: "No such file or directory"))
        #expect(fileError(directory.path) == .cannotRead(path: directory.path, reason: "Is a directory"))
        let empty = try directory.write("", to: "empty.csv")
        #expect(fileError(empty) == .empty(path: empty))
        #expect(fileError(empty, format: .jsonLines) == .empty(path: empty))
        let binary = try directory.write(Array((customerHeader + "\n1,a").utf8) + [0] + [1, 2], to: "binary.csv")
        #expect(fileError(binary) == .binary(path: binary, offset: Int64(customerHeader.utf8.count + 4)))
        let utf16 = try directory.write([0xFF, 0xFE, 0x61, 0x00], to: "utf16.jsonl")
        #expect(fileError(utf16) == .binary(path: utf16, offset: 3))
        let noKey = try directory.write("first_name,last_name,email,street,city,state,country\n", to: "nokey.csv")
        #expect(fileError(noKey) == .missingKeyColumns(path: noKey, columns: ["customer_id"]))
        let noAttributes = try directory.write("customer_id,first_name,email,street,state,country\n", to: "noattr.csv")
        // Under schema_evolution ignore or reject; under evolve (the default) a missing column is NULL.
        var strict = EntityConfiguration.customer
        strict.schemaEvolution = .ignore
        #expect(
            fileError(noAttributes, entity: strict)
                == .missingAttributeColumns(path: noAttributes, columns: ["last_name", "city"])
        )
        #expect(fileError(noAttributes) == nil)
        let duplicate = try directory.write(customerHeader + ",EMAIL\n", to: "dup.csv")
        #expect(fileError(duplicate) == .duplicateColumn(path: duplicate, column: "EMAIL"))
        let badHeader = try directory.write("customer_id,\"first_name\"x\n", to: "badheader.csv")
        #expect(
            fileError(badHeader)
                == .malformedHeader(path: badHeader, reason: "text after the closing quote in column #2")
        )
        let bomOnly = try directory.write([0xEF, 0xBB, 0xBF], to: "bom.csv")
        #expect(fileError(bomOnly) == .missingKeyColumns(path: bomOnly, columns: ["customer_id"]))
    }

    @Test("file-level error descriptions name the file and say what to do")
    func errorDescriptions() {
        #expect(
            FileReadError.missingAttributeColumns(path: "in/a.csv", columns: ["city", "state"]).description
                == "in/a.csv: header lacks attribute column(s) city, state; every row is a full snapshot, so add them "
                + "(an empty field is NULL)"
        )
        #expect(
            FileReadError.binary(path: "a.csv", offset: 3).description
                == "a.csv: not a text file (NUL byte at offset 3); save it as UTF-8 CSV or JSON Lines"
        )
        #expect(FileReadError.empty(path: "a.csv").path == "a.csv")
    }

    @Test("the format comes from the file name")
    func formatFromName() {
        #expect(FileFormat(path: "a/b.jsonl") == .jsonLines)
        #expect(FileFormat(path: "b.NDJSON") == .jsonLines)
        #expect(FileFormat(path: "b.csv") == .csv)
        #expect(FileFormat(path: "b.JSON") == .jsonLines)
        #expect(FileFormat(path: "jsonl") == .csv)
    }
}
