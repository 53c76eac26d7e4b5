import ArgumentParser
import FirnConfig
import FirnCore
import FirnWarehouse
import Foundation

/// Flags every command takes: where the data is and which config to read.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Data directory (warehouse, bucket, landing). Default: ./firn-data, or data_dir in the config.")
    var dataDir: String?

    @Option(help: "YAML config file (entity, warehouse, reader settings).")
    var config: String?

    @Option(help: "Warehouse URL: sqlite:PATH. Default: sqlite:<data-dir>/firn.sqlite.")
    var warehouse: String?

    func validate() throws {
        if let warehouse {
            do { _ = try WarehouseLocation(parsing: warehouse) } catch { throw ValidationError(error.description) }
        }
        if let config, !FileManager.default.fileExists(atPath: config) {
            throw ValidationError("config file \(config) does not exist")
        }
    }

    /// Settings from defaults, then the config file, then flags.
    func settings() throws -> FirnSettings {
        var settings = FirnSettings()
        if let config { settings = try FirnSettings.load(configFile: config) }
        if let dataDir { settings.dataDirectory = dataDir }
        if let warehouse { settings.warehouse = try WarehouseLocation(parsing: warehouse) }
        return settings
    }

    /// Opens the warehouse, creating the data directory and tables when missing.
    func openWarehouse() throws -> (SQLiteWarehouse, FirnSettings) {
        let settings = try settings()
        switch settings.resolvedWarehouse {
        case .sqlite(let path):
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            return (try SQLiteWarehouse(path: path, entity: settings.entity), settings)
        }
    }
}

extension OutputFormat: ExpressibleByArgument {}

/// Prints a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
