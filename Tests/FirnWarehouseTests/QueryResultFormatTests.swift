import FirnCore
import FirnTestSupport
import FirnWarehouse
import Testing

@Suite struct QueryResultFormatTests {
    let result = QueryResult(
        columns: ["id", "name", "note"],
        rows: [
            [.integer(1), .text(""), .null],
            [.integer(22), .text("a,\"b\"\nc"), .text("Zoë 東京")],
        ]
    )

    @Test func csvWritesNullAsUnquotedEmptyAndEmptyStringQuoted() {
        #expect(
            result.formatted(as: .csv)
                == "id,name,note\r\n1,\"\",\r\n22,\"a,\"\"b\"\"\nc\",Zoë 東京\r\n"
        )
    }

    @Test func jsonKeepsTypesAndNulls() {
        #expect(
            result.formatted(as: .json)
                == "[{\"id\":1,\"name\":\"\",\"note\":null},\n {\"id\":22,\"name\":\"a,\\\"b\\\"\\nc\",\"note\":\"Zoë 東京\"}]\n"
        )
    }

    @Test func tableAlignsColumnsAndCountsRows() {
        let text = result.formatted(as: .table)
        let lines = text.split(separator: "\n")
        #expect(lines.first == "id | name     | note")
        #expect(lines.last == "(2 rows)")
        #expect(text.contains("NULL"))
    }
}
