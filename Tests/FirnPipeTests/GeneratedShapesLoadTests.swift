import FirnCore
import FirnGenerate
import FirnPipe
import FirnSQLiteWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// Generated files that change shape part way (`firn generate --evolve-at-file`, `--partial-images`)
/// load to the same tables as the same rows in full: partial images under `null_updates: ignore`
/// keep the values in force (late updates included), and the new column is added once.
@Suite struct GeneratedShapesLoadTests {
    static func write(_ configuration: GeneratorConfiguration, files: Int, to directory: URL) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var generator = try ChangeGenerator(configuration: configuration)
        return try (0..<files).map { _ in
            let file = generator.nextFile()
            let url = directory.appendingPathComponent(file.name())
            try Data(file.csv(configuration)).write(to: url)
            return url.path
        }
    }

    static func tables(_ warehouse: SQLiteWarehouse) async throws -> [[Value]] {
        let history = try await warehouse.query(
            "SELECT customer_id, first_name, last_name, email, street, city, state, country, loyalty_tier, start_time, "
                + "end_time FROM customer_history ORDER BY customer_id, start_time"
        ).result.rows
        let current = try await warehouse.query("SELECT * FROM customer ORDER BY customer_id").result.rows
        return history + [[.text("--")]] + current
    }

    @Test func partialImagesUnderIgnoreNullsEqualFullImages() async throws {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var full = GeneratorConfiguration(seed: 11, startTime: Timestamp(year: 2026, month: 3, day: 1)!)
        full.rowsPerFile = 300
        full.rate = 2
        full.lateFraction = 0.1
        full.evolveAtFile = 3
        var partial = full
        partial.partialShare = 0.6
        var entity = EntityConfiguration.customer
        entity.nullUpdates = .ignore
        var results: [[[Value]]] = []
        for (name, configuration) in [("full", full), ("partial", partial)] {
            let paths = try Self.write(configuration, files: 8, to: dir.appendingPathComponent(name))
            let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("\(name).sqlite").path, entity: entity)
            let reports = try await FileLoader(warehouse: warehouse).load(paths.map { FileToLoad(path: $0) })
            #expect(reports.allSatisfy { $0.status == .loaded && $0.rejected == 0 }, "\(reports.map(\.error))")
            #expect(try await warehouse.schemaHistory().map(\.summary) == ["added attribute loyalty_tier text"])
            #expect(try await warehouse.schemaHistory().map(\.file) == ["customers-000003.csv"])
            results.append(try await Self.tables(warehouse))
        }
        let differing = zip(results[0], results[1]).first { $0 != $1 }
        #expect(results[0].count == results[1].count && differing == nil, "first difference: \(String(describing: differing))")
        #expect(results[0].count > 2_000)
    }
}
