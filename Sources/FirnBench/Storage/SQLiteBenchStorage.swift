import FirnCore
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import GRDB

/// `firn bench load` on SQLite: one database file per engine and batch size in a directory,
/// both with Firn's warehouse settings (page size, page cache, durability, log VFS).
struct SQLiteBenchStorage: BenchStorage {
    let directory: String
    let configuration: SQLiteConfiguration
    let keepsDatabases: Bool

    func path(_ engine: BenchEngine, size: Int) -> String { directory + "/\(engine.rawValue)-B\(size).sqlite" }

    func engineDescription() async -> String {
        "sqlite \(LoadBenchmark.sqliteVersion())"
    }

    func openFirn(size: Int) async throws(LoadBenchmarkError) -> BenchWarehouse {
        let path = path(.firn, size: size)
        Self.removeDatabase(path)
        do throws(WarehouseError) {
            let warehouse = try await SQLiteWarehouse.open(path: path, configuration: configuration)
            return BenchWarehouse(warehouse: warehouse, close: {})
        } catch {
            throw .firn(error)
        }
    }

    func openBaseline(size: Int) async throws(LoadBenchmarkError) -> any PlainSQLPort {
        let path = path(.sql, size: size)
        Self.removeDatabase(path)
        do {
            return try PlainSQLBaseline(path: path, isDurable: configuration.isDurable, like: configuration)
        } catch {
            throw .baseline("\(error)")
        }
    }

    /// Nothing: SQLite gathers no statistics by itself, and neither engine asks it to, so a
    /// pipeline left to run has none either.
    func analyze(_ engine: BenchEngine, size: Int) async throws(LoadBenchmarkError) {}

    func finish(_ engine: BenchEngine, size: Int) async throws(LoadBenchmarkError) -> (TableDigests, bytes: Int64) {
        let path = path(engine, size: size)
        let digests: TableDigests
        do {
            digests = try await runBlocking { () throws -> TableDigests in try TableDigests.read(path: path) }
        } catch {
            throw .check(path: path, reason: "\(error)")
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let bytes = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
        if !keepsDatabases { Self.removeDatabase(path) }
        return (digests, bytes)
    }

    static func removeDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}
