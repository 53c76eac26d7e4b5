import FirnCore
import Foundation
import GRDB
import Testing

@testable import FirnSQLiteWarehouse

/// A new file gets the configured page size; an existing one keeps its own, and the log's
/// restart threshold counts pages of the file's size, so it stays 512 MiB either way.
@Suite struct PageSizeTests {
    @Test func anExistingWarehouseKeepsItsPageSizeAndItsLogThresholdInBytes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-pages-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("w.sqlite").path
        let settings = { (warehouse: SQLiteWarehouse) in
            try await warehouse.pool.write { db in
                (
                    page: try Int.fetchOne(db, sql: "PRAGMA page_size"),
                    threshold: try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint")
                )
            }
        }
        #expect(SQLiteConfiguration().pageSize == 8192)
        var older = SQLiteConfiguration()
        older.pageSize = 4096
        let made = try await settings(SQLiteWarehouse(path: path, configuration: older))
        #expect(made.page == 4096)
        #expect(made.threshold == 131_072)
        // Opened with the defaults (8 KiB pages): the file's pages stay 4 KiB.
        let reopened = try await settings(SQLiteWarehouse(path: path))
        #expect(reopened.page == 4096)
        #expect(reopened.threshold == 131_072)
        // A new file.
        let fresh = try await settings(SQLiteWarehouse(path: directory.appendingPathComponent("n.sqlite").path))
        #expect(fresh.page == 8192)
        #expect(fresh.threshold == 65_536)
        // A threshold given in pages is taken as it is.
        var given = SQLiteConfiguration()
        given.checkpointPages = 5_000
        #expect(try await settings(SQLiteWarehouse(path: path, configuration: given)).threshold == 5_000)
    }
}
