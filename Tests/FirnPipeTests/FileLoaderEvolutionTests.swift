import FirnCore
import FirnPipe
import FirnSQLiteWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// `schema_evolution: evolve` through files: a file's new columns are added, typed by their
/// values, before its rows load, whether loaded alone or in a batch, CSV or JSON Lines; a file
/// without a column holds NULL in it, with a warning; a name that cannot be a column fails the
/// file, naming it. (The warehouse side, on both backends: `SchemaEvolutionTests`.)
@Suite struct FileLoaderEvolutionTests {
    let dir: URL

    init() throws {
        dir = try FileLoaderTests.temporaryDirectory()
    }

    static let entity: EntityConfiguration = {
        var entity = EntityConfiguration.customer
        entity.schemaEvolution = .evolve
        return entity
    }()

    static let header = "customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op"

    func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func newColumnsAreAddedTypedByTheirValues() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("w.sqlite").path, entity: Self.entity)
        let loader = FileLoader(warehouse: warehouse)
        let base = try write("a.csv", Self.header + "\n1,Ann,Lee,a@x,S,Oslo,,NO,2026-01-01 10:00:00,I\n2,Bob,Ray,b@x,S,Oslo,,NO,2026-01-01 10:00:00,I\n")
        let grown = try write(
            "b.csv",
            Self.header + ",tier,score,joined\n"
                + "1,Ann,Lee,a@x,S,Oslo,,NO,2026-01-02 10:00:00,U,3,1.5,2020-01-01\n"
                + "2,Bob,Ray,b@x,S,Oslo,,NO,2026-01-02 10:00:00,U,,2,\n"
        )
        let json = try write(
            "c.jsonl",
            #"{"customer_id": 2, "first_name": "Bob", "update_timestamp": "2026-01-03 10:00:00", "vip": "yes", "note": 12}"#
                + "\n"
                + #"{"customer_id": 3, "first_name": "Cy", "update_timestamp": "2026-01-03 10:00:00", "vip": false, "note": "x"}"#
                + "\n"
        )
        let reports = try await loader.load([FileToLoad(path: base), FileToLoad(path: grown)])
        #expect(reports.map(\.status) == [.loaded, .loaded])
        #expect(
            reports[1].warnings.contains("new column(s) added to the entity (schema_evolution: evolve): tier integer, score decimal, joined date"),
            "\(reports[1].warnings)"
        )
        let alone = try await loader.load(json)
        #expect(alone.status == .loaded, "\(String(describing: alone.error))")
        #expect(alone.warnings.first == "new column(s) added to the entity (schema_evolution: evolve): vip boolean, note text")
        #expect(warehouse.entity.attributeColumns.suffix(5) == [
            Column("tier", .integer), Column("score", .decimal), Column("joined", .date), Column("vip", .boolean), Column("note"),
        ])
        let rows = try await warehouse.query("SELECT customer_id, last_name, tier, score, joined, vip, note FROM customer ORDER BY 1")
        #expect(rows.result.rows == [
            [.integer(1), .text("Lee"), .integer(3), .text("1.5"), .text("2020-01-01"), .null, .null],
            [.integer(2), .null, .null, .null, .null, .integer(1), .text("12")],
            [.integer(3), .null, .null, .null, .null, .integer(0), .text("x")],
        ])
        // A new column with a value opens a version (Ann's tier, Bob's score); c.jsonl changes Bob again.
        let history = try await warehouse.query(
            "SELECT customer_id, tier, score FROM customer_history ORDER BY customer_id, start_time"
        )
        #expect(history.result.rows == [
            [.integer(1), .null, .null], [.integer(1), .integer(3), .text("1.5")], [.integer(2), .null, .null],
            [.integer(2), .null, .text("2")], [.integer(2), .null, .null], [.integer(3), .null, .null],
        ])
        let changes = try await warehouse.schemaHistory()
        #expect(changes.map(\.version) == [1, 2, 3, 4, 5])
        #expect(changes.map(\.file) == ["b.csv", "b.csv", "b.csv", "c.jsonl", "c.jsonl"])
        // The file that lacked the columns says so.
        let warnings = try await warehouse.loads(named: "c.jsonl").first?.warnings ?? ""
        #expect(warnings.contains("new column(s) added"), "\(warnings)")

        // Loading the file again adds nothing and loads nothing.
        #expect(try await loader.load(grown).status == .skipped)
        #expect(try await warehouse.schemaHistory().count == 5)
    }

    /// A JSON Lines member first seen part way through a file read in several chunks: the
    /// chunks before it commit as they are (their lines lack it), the column is added before the
    /// chunk that has it applies, and the file is read on with it, nothing staged twice.
    @Test func aMemberFirstSeenPartWayThroughAJSONLinesFileIsAddedThere() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("w.sqlite").path, entity: Self.entity)
        var reader = ReaderConfiguration()
        reader.chunkRows = 10
        let loader = FileLoader(warehouse: warehouse, reader: reader)
        var lines: [String] = []
        for row in 1...100 {
            let extra = row >= 55 ? #", "points": \#(row % 7 == 0 ? "null" : String(row))"# : ""
            let key = row == 3 ? "null" : String(row % 30 + 1)
            lines.append(
                #"{"customer_id": \#(key), "first_name": "N\#(row)", "update_timestamp": "2026-01-01 10:\#(String(format: "%02d", row / 60)):\#(String(format: "%02d", row % 60))"\#(extra)}"#
            )
        }
        let path = try write("big.jsonl", lines.joined(separator: "\n") + "\n")
        let report = try await loader.load(path)
        #expect(report.status == .loaded, "\(String(describing: report.error))")
        #expect(report.rejected == 1)
        #expect(report.counts.staged == 99)
        #expect(report.warnings.first == "new column(s) added to the entity (schema_evolution: evolve): points integer")
        await #expect(try warehouse.query("SELECT count(*), count(DISTINCT source_row) FROM customer_raw").result.rows == [
            [.integer(99), .integer(99)]
        ])
        await #expect(try warehouse.query("SELECT min(source_row), count(*) FROM customer_raw WHERE points IS NOT NULL").result.rows == [
            [.integer(55), .integer(39)]
        ])
        #expect(try await warehouse.loads(named: "big.jsonl").map(\.rowsLoaded) == [99])
        #expect(try await warehouse.schemaHistory().map(\.summary) == ["added attribute points integer"])
    }

    /// A column missing from a CSV file is NULL for its rows (a warning says which), under
    /// evolve for any attribute and, whatever the policy, for the evolved ones.
    @Test func aMissingColumnIsNullWithAWarning() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.sqlite").path
        let warehouse = try SQLiteWarehouse(path: path, entity: Self.entity)
        let loader = FileLoader(warehouse: warehouse)
        _ = try await loader.load(try write("a.csv", Self.header + ",tier\n1,Ann,Lee,a@x,S,Oslo,,NO,2026-01-01 10:00:00,I,2\n"))
        let partial = try await loader.load(try write("b.csv", "customer_id,first_name,update_timestamp\n1,Anna,2026-01-02 10:00:00\n"))
        #expect(partial.status == .loaded)
        #expect(
            partial.warnings.contains("no column for attribute(s) last_name, email, street, city, state, country, tier: NULL in every row"),
            "\(partial.warnings)"
        )
        let row = try await warehouse.query("SELECT first_name, last_name, tier FROM customer").result.rows
        #expect(row == [[.text("Anna"), .null, .null]])

        // Under ignore, the configured attributes are required again; the evolved one is not.
        var ignoring = Self.entity
        ignoring.schemaEvolution = .ignore
        let reopened = try SQLiteWarehouse(path: path, entity: ignoring)
        let strict = FileLoader(warehouse: reopened)
        let lacking = try await strict.load(try write("c.csv", "customer_id,first_name,update_timestamp\n1,Ann,2026-01-03 10:00:00\n"))
        #expect(lacking.status == .failed)
        #expect(lacking.error?.contains("header lacks attribute column(s) last_name, email, street, city, state, country;") == true)
        let old = try await strict.load(try write("d.csv", Self.header + "\n1,Ann,Lee,a@x,S,Oslo,,NO,2026-01-04 10:00:00,U\n"))
        #expect(old.status == .loaded)
        #expect(old.warnings.contains("no column for attribute(s) tier: NULL in every row"), "\(old.warnings)")
    }

    /// A new column whose name cannot be a column fails the file before any row loads.
    @Test func aNameThatCannotBeAColumnFailsTheFile() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("w.sqlite").path, entity: Self.entity)
        let report = try await FileLoader(warehouse: warehouse).load(
            try write("a.csv", Self.header + ",loaded_at\n1,Ann,Lee,a@x,S,Oslo,,NO,2026-01-01 10:00:00,I,x\n")
        )
        #expect(report.status == .failed)
        #expect(
            report.error?.contains("new column(s) loaded_at cannot be added to the entity (invalid configuration: entity customer: column loaded_at is reserved") == true,
            "\(String(describing: report.error))"
        )
        await #expect(try warehouse.query("SELECT count(*) FROM customer_raw").result.rows == [[.integer(0)]])
        #expect(try await warehouse.schemaHistory().isEmpty)
    }
}
