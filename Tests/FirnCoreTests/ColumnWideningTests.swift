import Testing

@testable import FirnCore

/// Widening a column's type (issue: schema evolution): which types widen to which, how stored
/// values convert, and how a reader flags the rows that need a wider type.
@Suite("Column widening")
struct ColumnWideningTests {
    let directory: TestDirectory

    init() throws {
        directory = try TestDirectory()
    }

    @Test("an integer widens to a decimal, anything to text, nothing else")
    func lattice() {
        for type in ColumnType.allCases {
            #expect(type.widens(to: type))
            #expect(type.widens(to: .text))
            #expect(type.joined(with: type) == type)
        }
        #expect(ColumnType.integer.widens(to: .decimal))
        #expect(!ColumnType.decimal.widens(to: .integer))
        #expect(!ColumnType.boolean.widens(to: .integer))
        #expect(!ColumnType.date.widens(to: .timestamp))
        #expect(ColumnType.integer.joined(with: .decimal) == .decimal)
        #expect(ColumnType.decimal.joined(with: .integer) == .decimal)
        #expect(ColumnType.integer.joined(with: .boolean) == .text)
        #expect(ColumnType.date.joined(with: .timestamp) == .text)
    }

    @Test("stored values convert to what the wider type stores for the same text")
    func valueConversion() throws {
        #expect(Value.integer(-5).widened(from: .integer, to: .decimal) == .text("-5"))
        #expect(try ColumnType.decimal.value(parsing: "-5.00", column: "c") == .text("-5"))
        #expect(Value.integer(12).widened(from: .integer, to: .text) == .text("12"))
        #expect(Value.integer(1).widened(from: .boolean, to: .text) == .text("true"))
        #expect(Value.integer(0).widened(from: .boolean, to: .text) == .text("false"))
        #expect(Value.text("12.5").widened(from: .decimal, to: .text) == .text("12.5"))
        #expect(Value.null.widened(from: .integer, to: .decimal) == .null)
    }

    @Test("the entity widens to the join of its type and the one asked for, once, remembering the first type")
    func entityWidening() throws {
        let entity = try EntityConfiguration(
            name: "m",
            keyColumns: [Column("id", .integer)],
            attributeColumns: [Column("points", .integer), Column("vip", .boolean)]
        )
        let (decimal, first) = entity.widening([Column("points", .decimal), Column("id", .text), Column("nope", .text)])
        #expect(decimal.attributeColumns == [Column("points", .decimal), Column("vip", .boolean)])
        #expect(decimal.keyColumns == entity.keyColumns)
        #expect(first.map(\.column) == [Column("points", .decimal)])
        #expect(first.map(\.from) == [.integer])
        let (text, second) = decimal.widening([Column("points", .boolean)])
        #expect(text.attributeColumns[0] == Column("points", .text))
        #expect(second.map(\.from) == [.decimal])
        #expect(text.widenedAttributes == ["points": .integer])
        #expect(text.widening([Column("points", .integer)]).changed.isEmpty)
    }

    func entity(_ evolution: SchemaEvolution, text: Bool = false) throws -> EntityConfiguration {
        var entity = try EntityConfiguration(
            name: "m",
            keyColumns: [Column("id", .integer)],
            attributeColumns: [Column("points", .integer), Column("vip", .boolean)]
        )
        entity.schemaEvolution = evolution
        entity.widenToText = text
        return entity
    }

    func chunks(_ text: String, _ entity: EntityConfiguration, rows: Int = 100) throws -> [RecordChunk] {
        let path = try directory.write(text)
        var reader = try RecordFileReader(
            path: path,
            entity: entity,
            load: 1,
            defaultEventTime: loadTime,
            configuration: ReaderConfiguration(chunkRows: rows)
        )
        var chunks: [RecordChunk] = []
        while let chunk = try reader.nextChunk() { chunks.append(chunk) }
        return chunks
    }

    static let file = "id,points,vip\n1,5,yes\n2,5.5,no\n3,6,maybe\n4,x1,t\n"

    @Test("under evolve, a row whose value fits a wider type is rejected and its chunk names the widening")
    func readerFlagsWidenings() throws {
        let read = try chunks(Self.file, try entity(.evolve), rows: 2)
        #expect(read.map(\.widenings) == [[Column("points", .decimal)], []])
        #expect(read[0].rejects.map(\.reason) == [#"value "5.5" in column points is not an integer"#])
        #expect(read[1].rejects.count == 2)

        let textual = try chunks(Self.file, try entity(.evolve, text: true))
        #expect(textual.map(\.widenings) == [[Column("points", .text), Column("vip", .text)]])
        #expect(textual[0].records.map(\.key) == [Key(1)])
    }

    @Test("keys never widen, and neither does anything under ignore or reject")
    func noWideningOtherwise() throws {
        for evolution in [SchemaEvolution.ignore, .reject] {
            let read = try chunks(Self.file, try entity(evolution, text: true))
            #expect(read.allSatisfy { $0.widenings.isEmpty })
            #expect(read[0].rejects.count == 3)
        }
        let key = try chunks("id,points,vip\n1.5,5,yes\n", try entity(.evolve, text: true))
        #expect(key[0].widenings.isEmpty)
        #expect(key[0].rejects.map(\.reason) == [#"value "1.5" in column id is not an integer"#])
    }

    @Test("JSON Lines values flag widenings too")
    func jsonLines() throws {
        let path = try directory.write(#"{"id": 1, "points": 2.25, "vip": "maybe"}"# + "\n", to: "c.jsonl")
        var reader = try RecordFileReader(path: path, entity: try entity(.evolve), load: 1, defaultEventTime: loadTime)
        let chunk = try #require(try reader.nextChunk())
        #expect(chunk.widenings == [Column("points", .decimal)])
    }
}
