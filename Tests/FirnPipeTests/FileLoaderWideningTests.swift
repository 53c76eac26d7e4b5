import FirnCore
import FirnPipe
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// Widening through files, on both backends: a value that fits a wider type (a decimal in an
/// integer column; under `widen_to_text`, anything) widens its attribute before the chunk
/// holding it applies, and every row loads, whether the file loads alone (streamed in
/// chunks) or in a batch; without `widen_to_text` a value that fits only text is rejected as
/// before. (The warehouse side: `SchemaWideningTests`.)
@Suite struct FileLoaderWideningTests {
    static func entity(text: Bool = false) -> EntityConfiguration {
        var entity = try! EntityConfiguration(
            name: "m",
            keyColumns: [Column("id", .integer)],
            attributeColumns: [Column("points", .integer), Column("vip", .boolean)]
        )
        entity.schemaEvolution = .evolve
        entity.widenToText = text
        return entity
    }

    static let header = "id,points,vip,update_timestamp\n"
    static let history = "SELECT id, points, vip, start_time FROM m_history ORDER BY id, start_time"

    static func write(_ dir: URL, _ name: String, _ rows: [String]) throws -> String {
        let url = dir.appendingPathComponent(name)
        try (header + rows.map { $0 + "\n" }.joined()).write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static func text(_ values: [[Value]]) -> [[String]] {
        values.map { row in row.map(\.description) }
    }

    /// A file streamed in chunks of two rows, the decimal in its second chunk: the first
    /// chunk commits with integers, then the attribute widens and the rest loads.
    @Test(arguments: TestBackend.allCases) func aDecimalWidensAnIntegerColumnMidFile(backend: TestBackend) async throws
    {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try await TestWarehouse.open(backend, entity: Self.entity())
        let loader = FileLoader(warehouse: store.warehouse, reader: ReaderConfiguration(chunkRows: 2))
        let path = try Self.write(
            dir,
            "a.csv",
            [
                "1,5,yes,2026-01-01", "2,6,no,2026-01-01", "1,5.00,yes,2026-01-02", "2,6.5,,2026-01-02",
                "3,-1,t,2026-01-02",
            ]
        )
        let report = try await loader.load(path)
        #expect(report.status == .loaded, "\(String(describing: report.error))")
        #expect(report.rejected == 0)
        #expect(report.summary?.rowsLoaded == 5)
        #expect(
            report.warnings.contains("column type(s) widened (schema_evolution: evolve): points integer to decimal"),
            "\(report.warnings)"
        )
        let rows = try await store.warehouse.query(Self.history).result.rows
        #expect(
            Self.text(rows) == [
                ["1", "5", "1", "2026-01-01 00:00:00.000000"],
                ["2", "6", "0", "2026-01-01 00:00:00.000000"], ["2", "6.5", "NULL", "2026-01-02 00:00:00.000000"],
                ["3", "-1", "1", "2026-01-02 00:00:00.000000"],
            ]
        )
        #expect(try await store.warehouse.schemaHistory().map(\.file) == ["a.csv"])
        await store.close()
    }

    /// Several small files in one batch: the one with decimals widens the column; files read
    /// before it (integers) and after it load too, as one by one would.
    @Test(arguments: TestBackend.allCases) func aBatchOfFilesWidensOnce(backend: TestBackend) async throws {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let paths = [
            try Self.write(dir, "a.csv", ["1,5,yes,2026-01-01", "2,6,no,2026-01-01"]),
            try Self.write(dir, "b.csv", ["1,5.0,yes,2026-01-02", "2,6.25,no,2026-01-02"]),
            try Self.write(dir, "c.csv", ["1,7,yes,2026-01-03", "2,6.25,no,2026-01-03"]),
        ]
        let batched = try await TestWarehouse.open(backend, entity: Self.entity())
        let reports = try await FileLoader(warehouse: batched.warehouse).load(paths.map { FileToLoad(path: $0) })
        #expect(reports.map(\.status) == [.loaded, .loaded, .loaded])
        #expect(reports.map(\.rejected) == [0, 0, 0])
        let single = try await TestWarehouse.open(backend, entity: Self.entity())
        for path in paths { _ = try await FileLoader(warehouse: single.warehouse).load(path) }
        let expected = try await single.warehouse.query(Self.history).result.rows
        #expect(try await batched.warehouse.query(Self.history).result.rows == expected)
        #expect(
            Self.text(expected) == [
                ["1", "5", "1", "2026-01-01 00:00:00.000000"], ["1", "7", "1", "2026-01-03 00:00:00.000000"],
                ["2", "6", "0", "2026-01-01 00:00:00.000000"], ["2", "6.25", "0", "2026-01-02 00:00:00.000000"],
            ]
        )
        #expect(
            try await batched.warehouse.schemaHistory().map(\.summary) == [
                "widened attribute points integer to decimal"
            ]
        )
        await batched.close()
        await single.close()
    }

    /// A value that fits only text: rejected with its reason by default; under
    /// `widen_to_text` its column becomes text and the row loads. JSON Lines the same.
    @Test(arguments: TestBackend.allCases) func textOnlyWhenTheConfigAllowsIt(backend: TestBackend) async throws {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.write(dir, "a.csv", ["1,5,yes,2026-01-01", "2,6,maybe,2026-01-01"])
        let strict = try await TestWarehouse.open(backend, entity: Self.entity())
        let refused = try await FileLoader(warehouse: strict.warehouse).load(path)
        #expect(refused.rejected == 1)
        #expect(try await strict.warehouse.schemaHistory().isEmpty)
        let reasons = try await strict.warehouse.query("SELECT reason FROM firn_rejects").result.rows
        #expect(reasons == [[.text(#"value "maybe" in column vip is not a boolean (true/false, yes/no, t/f, 1/0)"#)]])
        await strict.close()

        let lenient = try await TestWarehouse.open(backend, entity: Self.entity(text: true))
        let loaded = try await FileLoader(warehouse: lenient.warehouse).load(path)
        #expect(loaded.rejected == 0)
        let json = dir.appendingPathComponent("b.jsonl")
        try (#"{"id": 1, "points": "lots", "vip": true, "update_timestamp": "2026-01-02"}"# + "\n")
            .write(to: json, atomically: true, encoding: .utf8)
        let jsonReport = try await FileLoader(warehouse: lenient.warehouse).load(json.path)
        #expect(jsonReport.rejected == 0)
        let rows = Self.text(try await lenient.warehouse.query(Self.history).result.rows)
        #expect(
            rows == [
                // The file was read again as text: its values as written.
                ["1", "5", "yes", "2026-01-01 00:00:00.000000"], ["1", "lots", "true", "2026-01-02 00:00:00.000000"],
                ["2", "6", "maybe", "2026-01-01 00:00:00.000000"],
            ],
            "\(rows)"
        )
        #expect(
            try await lenient.warehouse.schemaHistory().map(\.summary) == [
                "widened attribute vip boolean to text", "widened attribute points integer to text",
            ]
        )
        await lenient.close()
    }
}
