import FirnWarehouse
import Foundation
import Testing

@testable import FirnSQLiteWarehouse
@testable import firn

/// `key_state_capacity` in the config reaches the warehouse the command line opens, not only
/// the settings (the bounds are tested in `FirnSettingsTests`).
@Suite struct KeyStateCapacityWiringTests {
    @Test func configuredCapacityReachesTheSQLiteWarehouse() async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("firn-keystates-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/firn.yaml"
        try "key_state_capacity: 1234\n".write(toFile: config, atomically: true, encoding: .utf8)

        let configured = try GlobalOptions.parse(["--data-dir", directory + "/data", "--config", config])
        let (warehouse, _) = try await configured.openWarehouse()
        let sqlite = try #require(warehouse as? SQLiteWarehouse)
        #expect(sqlite.keyStates.capacity == 1234)

        let unconfigured = try GlobalOptions.parse(["--data-dir", directory + "/data"])
        let (fallback, _) = try await unconfigured.openWarehouse()
        let defaulted = try #require(fallback as? SQLiteWarehouse)
        #expect(defaulted.keyStates.capacity == KeyStateCache.defaultCapacity)
    }
}
