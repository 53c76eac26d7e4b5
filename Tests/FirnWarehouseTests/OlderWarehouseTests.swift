import FirnCore
import FirnWarehouse
import Foundation
import Testing

/// Warehouse files written by an earlier Firn open and gain what came later.
@Suite struct OlderWarehouseTests {
    @Test func loadHistoryGainsItsWarningsColumn() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-older-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("w.sqlite").path
        _ = try SQLiteWarehouse(path: path)
        // As a warehouse written before load history had warnings, or firn_entities existed.
        try EntityDefinitionTests.sqlite(path, "ALTER TABLE firn_loads DROP COLUMN warnings; DROP TABLE firn_entities")
        let warehouse = try SQLiteWarehouse(path: path)
        #expect(try warehouse.loadHistory().columns.contains("warnings"))
        let columns = try warehouse.query("SELECT name FROM pragma_table_info('firn_loads')").result.rows
        #expect(columns.contains([.text("warnings")]))
        #expect(try warehouse.query("SELECT name FROM firn_entities").result.rows == [[.text("customer")]])
    }
}
