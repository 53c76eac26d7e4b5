import FirnCore
import FirnTestSupport
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import Testing

/// Warehouse files written by an earlier Firn open and gain what came later.
@Suite struct OlderWarehouseTests {
    @Test func loadHistoryGainsItsWarningsColumn() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-older-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("w.sqlite").path
        _ = try SQLiteWarehouse(path: path)
        // As a warehouse written before load history had warnings, or firn_entities existed.
        try EntityDefinitionTests.sqlite(
            path,
            "ALTER TABLE firn_loads DROP COLUMN warnings; DROP TABLE firn_entities; DROP TABLE firn_schema_versions"
        )
        let warehouse = try SQLiteWarehouse(path: path)
        let columns = try await warehouse.query("SELECT name FROM pragma_table_info('firn_loads')").result.rows
        #expect(columns.contains([.text("warnings")]))
        await #expect(try warehouse.query("SELECT name FROM firn_entities").result.rows == [[.text("customer")]])
    }

    /// Schema versions are recorded in order as their migrations apply, once each; a warehouse
    /// from before versions were recorded goes through the same steps; one written by a newer
    /// Firn is refused with a message that says so.
    @Test func schemaVersionsAreRecordedInOrderAndANewerOneIsRefused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-older-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("w.sqlite").path
        let versions = "SELECT version FROM firn_schema_versions ORDER BY version"
        let fresh = try SQLiteWarehouse(path: path)
        let recorded = try await fresh.query(versions).result.rows
        #expect(recorded.count >= 3)
        #expect(recorded == (1...recorded.count).map { [.integer(Int64($0))] })
        // Opening again applies nothing twice.
        _ = try SQLiteWarehouse(path: path)
        await #expect(try fresh.query(versions).result.rows == recorded)
        // From before versions: the same versions, and the tables as they were.
        try EntityDefinitionTests.sqlite(path, "DROP TABLE firn_schema_versions")
        let older = try SQLiteWarehouse(path: path)
        await #expect(try older.query(versions).result.rows == recorded)
        // Written by a newer Firn.
        try EntityDefinitionTests.sqlite(
            path,
            "INSERT INTO firn_schema_versions VALUES (\(recorded.count + 1), 'from the future', '2030-01-01')"
        )
        do {
            _ = try SQLiteWarehouse(path: path)
            Issue.record("a warehouse of a newer schema version opened")
        } catch {
            #expect(error.description.contains("newer than this firn knows"), "\(error)")
            #expect(!error.mayRetry)
        }
    }
}
