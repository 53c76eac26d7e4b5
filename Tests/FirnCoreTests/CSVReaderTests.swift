import Testing

@testable import FirnCore

@Suite("CSV reader")
struct CSVReaderTests {
    @Test("quoted fields, escaped quotes and embedded commas")
    func quotedFields() throws {
        let directory = try TestDirectory()
        let path = try directory.write("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"\"\"\"\n")
        let (header, rows) = try csvRows(path)
        #expect(header == ["a", "b", "c"])
        #expect(rows.count == 1)
        #expect(rows[0].fields == ["x, y", "say \"hi\"", "\""])
        #expect(rows[0].raw == "\"x, y\",\"say \"\"hi\"\"\",\"\"\"\"")
        #expect(rows[0].problem == nil)
    }

    @Test("embedded LF and CRLF inside quotes keep one row and one row number")
    func embeddedNewlines() throws {
        let directory = try TestDirectory()
        let path = try directory.write("a,b\r\n1,\"line1\nline2\"\r\n2,\"x\r\ny\"\r\n3,z\r\n")
        let (_, rows) = try csvRows(path)
        #expect(rows.map(\.row) == [1, 2, 3])
        #expect(rows.map(\.fields) == [["1", "line1\nline2"], ["2", "x\r\ny"], ["3", "z"]])
        #expect(rows[0].raw == "1,\"line1\nline2\"")
    }

    @Test("CRLF and LF line ends, mixed")
    func lineEnds() throws {
        let directory = try TestDirectory()
        let path = try directory.write("a,b\r\n1,2\n3,4\r\n\"5\",\"6\"\r\n")
        let (header, rows) = try csvRows(path)
        #expect(header == ["a", "b"])
        #expect(rows.map(\.fields) == [["1", "2"], ["3", "4"], ["5", "6"]])
        #expect(rows.map(\.raw) == ["1,2", "3,4", "\"5\",\"6\""])
    }

    @Test(
        "CR-only line ends (old Mac CSV) end rows; CRLF is one end; CR inside quotes is data",
        arguments: [16, 17, 23, 1 << 20]
    )
    func carriageReturnLineEnds(size: Int) throws {
        let directory = try TestDirectory()
        let text = "\u{FEFF}a,\"b\rc\"\r1,2\r\"x\ry\",\"q\"\r3,\"z\"\r\n4,5\r\r6,\"open\r7,8\r9,10"
        let (header, rows) = try csvRows(try directory.write(text), readBufferBytes: size)
        #expect(header == ["a", "b\rc"])
        #expect(rows.map(\.row) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(
            rows.map(\.fields) == [
                ["1", "2"], ["x\ry", "q"], ["3", "z"], ["4", "5"], [nil], ["6"], ["7", "8"], ["9", "10"],
            ]
        )
        #expect(rows.map(\.raw)[0...4] == ["1,2", "\"x\ry\",\"q\"", "3,\"z\"", "4,5", ""])
        #expect(rows[5].problem == "quoted field in column b\rc is never closed")
        #expect(rows[5].raw == "6,\"open")
        let (_, ending) = try csvRows(try directory.write("a,b\r1,2\r"), readBufferBytes: size)
        #expect(ending.map(\.fields) == [["1", "2"]])
    }

    @Test("a CR-only customer file loads every row")
    func carriageReturnCustomerFile() throws {
        let directory = try TestDirectory()
        let text = ([customerHeader] + (1...3).map { customerRow($0) }).joined(separator: "\r") + "\r"
        let contents = try readFile(try directory.write(text))
        #expect(contents.rejects.isEmpty)
        #expect(contents.records.map(\.key) == [Key(1), Key(2), Key(3)])
        #expect(contents.records.allSatisfy { $0.operation == .upsert && $0.attributes[4] == .text("Oslo") })
    }

    @Test("a UTF-8 BOM at the start is skipped")
    func byteOrderMark() throws {
        let directory = try TestDirectory()
        let path = try directory.write([0xEF, 0xBB, 0xBF] + Array("id,name\n1,x\n".utf8))
        let (header, rows) = try csvRows(path)
        #expect(header == ["id", "name"])
        #expect(rows.map(\.fields) == [["1", "x"]])
    }

    @Test("an unquoted empty field is NULL, a quoted empty field the empty string")
    func nullVersusEmptyString() throws {
        let directory = try TestDirectory()
        let path = try directory.write("a,b,c,d\n,\"\",x,\n\"\",,,\"\"\n")
        let (_, rows) = try csvRows(path)
        #expect(rows.map(\.fields) == [[nil, "", "x", nil], ["", nil, nil, ""]])
    }

    @Test("a final line without a newline is a row; a final newline alone is not")
    func finalLine() throws {
        let directory = try TestDirectory()
        for (text, count) in [
            ("a\n1\n2", 2), ("a\n1\n2\n", 2), ("a\n1\n2\r\n", 2), ("a\n1\n\"2\"", 2), ("a\n1\n2\r", 2),
        ] {
            let (_, rows) = try csvRows(try directory.write(text))
            #expect(rows.count == count, "\(text.debugDescription)")
            #expect(rows.last?.fields == ["2"], "\(text.debugDescription)")
        }
        let (_, headerOnly) = try csvRows(try directory.write("a,b\n"))
        #expect(headerOnly.isEmpty)
        let (_, afterComma) = try csvRows(try directory.write("a,b\n1,"))
        #expect(afterComma.map(\.fields) == [["1", nil]])
    }

    @Test("a blank line is a row of one empty field")
    func blankLine() throws {
        let directory = try TestDirectory()
        let (_, rows) = try csvRows(try directory.write("a,b\n1,2\n\n\r\n3,4\n"))
        #expect(rows.map(\.row) == [1, 2, 3, 4])
        #expect(rows.map(\.fields) == [["1", "2"], [nil], [nil], ["3", "4"]])
        #expect(rows[1].raw == "" && rows[2].raw == "")
    }

    @Test("text after a closing quote makes the row malformed, and reading goes on")
    func textAfterClosingQuote() throws {
        let directory = try TestDirectory()
        let (_, rows) = try csvRows(try directory.write("a,b\n\"ab\"c,d\n1,2\n\"x\"\r3,4\n5,6\n"))
        #expect(rows.map(\.row) == [1, 2, 3, 4])
        #expect(rows[0].problem == "text after the closing quote in column a")
        #expect(rows[0].raw == "\"ab\"c,d")
        #expect(rows[1].fields == ["1", "2"])
        #expect(rows[2].problem == "text after the closing quote in column a")
        #expect(rows[3].fields == ["5", "6"])
    }

    @Test("a quote that never closes rejects its row up to its line, and reading goes on after it")
    func unclosedQuote() throws {
        let directory = try TestDirectory()
        let (_, rows) = try csvRows(try directory.write("a,b\n1,\"abc\r\n2,x\n3,y"), readBufferBytes: 16)
        #expect(rows.map(\.row) == [1, 2, 3])
        #expect(rows[0].problem == "quoted field in column b is never closed")
        #expect(rows[0].raw == "1,\"abc")
        #expect(rows[1].fields == ["2", "x"])
        #expect(rows[2].fields == ["3", "y"])
        let (_, last) = try csvRows(try directory.write("a,b\n1,2\n3,\"never"))
        #expect(last.count == 2)
        #expect(last[1].problem == "quoted field in column b is never closed")
        #expect(last[1].raw == "3,\"never")
    }

    @Test("a field over the limit rejects its row and keeps only a prefix of it")
    func hugeField() throws {
        let directory = try TestDirectory()
        let big = String(repeating: "x", count: 100_000)
        let path = try directory.write("a,b\n1,\(big)\n2,\"\(big)\"\n3,ok\n")
        let (_, rows) = try csvRows(path, maxFieldBytes: 10_000, readBufferBytes: 4096)
        #expect(rows.map(\.row) == [1, 2, 3])
        #expect(rows[0].problem == "field in column b is 100000 bytes, over the limit of 10000 bytes")
        #expect(rows[1].problem == "field in column b is 100000 bytes, over the limit of 10000 bytes")
        #expect(rows[0].raw.hasPrefix("1,xxx"))
        #expect(rows[0].raw.hasSuffix("… [row is 100002 bytes; the first 4096 are kept]"))
        #expect(rows[0].raw.utf8.count < 4200)
        #expect(rows[2].fields == ["3", "ok"])
    }

    @Test("a row with endless commas stays bounded")
    func endlessCommas() throws {
        let directory = try TestDirectory()
        let path = try directory.write("a,b\n" + String(repeating: ",", count: 200_000) + "\n1,2\n")
        let (_, rows) = try csvRows(path, maxFieldBytes: 100, readBufferBytes: 4096)
        #expect(rows.count == 2)
        #expect(rows[0].problem?.hasPrefix("row is 200000 bytes, over the limit of") == true)
        #expect(rows[0].fields.isEmpty)
        #expect(rows[1].fields == ["1", "2"])
    }

    @Test("every read buffer size gives the same rows", arguments: [16, 17, 19, 23, 64, 1 << 20])
    func bufferBoundaries(size: Int) throws {
        let directory = try TestDirectory()
        let text =
            "\u{FEFF}id,\"na\"\"me\",note\r\n1,\"a,b\",\"x\r\ny\"\r\n2,,\"\"\n\n3,\"q\"\"\"\"\",z\r\n"
            + "4,\"ab\"c,d\r\n5,é😀,\"\"\"\"\r\n6,\"open\nend"
        let path = try directory.write(text)
        let expected = try csvRows(path)
        let actual = try csvRows(path, readBufferBytes: size)
        #expect(actual.header == ["id", "na\"me", "note"])
        #expect(actual.header == expected.header)
        #expect(actual.rows.map(\.row) == expected.rows.map(\.row))
        #expect(actual.rows.map(\.fields) == expected.rows.map(\.fields))
        #expect(actual.rows.map(\.raw) == expected.rows.map(\.raw))
        #expect(actual.rows.map(\.problem) == expected.rows.map(\.problem))
        #expect(
            expected.rows.map(\.fields) == [
                ["1", "a,b", "x\r\ny"], ["2", nil, ""], [nil], ["3", "q\"\"", "z"], ["4"], ["5", "é😀", "\""],
                ["6"], ["end"],
            ]
        )
        #expect(expected.rows[4].problem == "text after the closing quote in column na\"me")
        #expect(expected.rows[6].problem == "quoted field in column na\"me is never closed")
    }
}
