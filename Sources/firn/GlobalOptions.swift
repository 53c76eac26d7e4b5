import ArgumentParser
import AsyncHTTPClient
import FirnConfig
import FirnCore
import FirnIngest
import FirnObjectStore
import FirnPostgresWarehouse
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation

/// Flags every command takes: where the data is and which config to read.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Data directory (warehouse, bucket, landing). Default: ./firn-data, or data_dir in the config.")
    var dataDir: String?

    @Option(help: "YAML config file: data_dir, warehouse, bucket, landing, entity, reader, ingest, tasks.")
    var config: String?

    @Option(
        help: "Warehouse URL: sqlite:PATH, or postgres://user:password@host:port/db?sslmode=…&schema=… (the rest from PG* variables). Default: sqlite:<data-dir>/firn.sqlite."
    )
    var warehouse: String?

    @Option(
        help: ArgumentHelp(
            "Bucket URL: file:PATH or s3://BUCKET/PREFIX?endpoint=URL&region=REGION. Default: file:<data-dir>/bucket.",
            discussion: "S3 credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN."
        )
    )
    var bucket: String?

    @Option(help: "Landing directory that ingest watches. Default: <data-dir>/landing.")
    var landing: String?

    @Option(help: "The entity the command is about, when the config lists several (entities:). Default: the only one.")
    var entity: String?

    func validate() throws {
        if let warehouse {
            do { _ = try WarehouseLocation(parsing: warehouse) } catch { throw ValidationError(error.description) }
        }
        if let bucket {
            do { _ = try BucketLocation(parsing: bucket) } catch { throw ValidationError(error.description) }
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
        if let bucket { settings.bucket = try BucketLocation(parsing: bucket) }
        if let landing { settings.landingDirectory = landing }
        if let config { try settings.checkWarehouseOptions(source: config) }
        return settings
    }

    /// Opens the warehouse, creating the data directory and tables when missing.
    ///
    /// - Parameter creating: Whether a missing warehouse is created. Commands that only read
    ///   (`query`, `history`, `as-of`, listings) pass `false`, so a mistyped `--data-dir` says the
    ///   warehouse does not exist instead of creating an empty one.
    func openWarehouse(creating: Bool = true) async throws -> (any Warehouse, FirnSettings) {
        var settings = try settings()
        do {
            settings.entity = try settings.entity(named: entity)
        } catch {
            throw CommandError(error.message)
        }
        return (try await openWarehouse(for: settings.entity, settings, creating: creating), settings)
    }

    /// Opens the warehouse of another entity beside `opened`: on PostgreSQL sharing its
    /// connection pool, on SQLite a connection of its own to the same file.
    func openWarehouse(
        for entity: EntityConfiguration,
        beside opened: any Warehouse,
        _ settings: FirnSettings,
        creating: Bool = true
    ) async throws -> any Warehouse {
        if let postgres = opened as? PostgresWarehouse {
            return try await postgres.opening(entity, keyStateCapacity: settings.resolvedKeyStateCapacity)
        }
        return try await openWarehouse(for: entity, settings, creating: creating)
    }

    /// Opens the warehouse of one entity (see ``openWarehouse(creating:)``).
    func openWarehouse(
        for entity: EntityConfiguration,
        _ settings: FirnSettings,
        creating: Bool = true
    ) async throws -> any Warehouse {
        switch settings.resolvedWarehouse {
        case .sqlite(let path):
            if !creating, !FileManager.default.fileExists(atPath: path) {
                throw CommandError(
                    "no warehouse at \(path): check --data-dir or --warehouse (`firn load` or `firn run` creates one)"
                )
            }
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            var configuration = SQLiteConfiguration()
            if let pageSize = settings.sqlitePageSize { configuration.pageSize = pageSize }
            configuration.keyStateCapacity = settings.resolvedKeyStateCapacity
            return try await SQLiteWarehouse.open(path: path, entity: entity, configuration: configuration)
        case .postgres(let location):
            return try await PostgresWarehouse.open(
                location,
                entity: entity,
                creating: creating,
                keyStateCapacity: settings.resolvedKeyStateCapacity
            )
        }
    }
}

extension FirnSettings {
    /// The writer's key memory in force: the configured one, or the warehouses' default.
    var resolvedKeyStateCapacity: Int { keyStateCapacity ?? KeyStateCache.defaultCapacity }
}

/// A command that cannot go on, with the one line that says why and what to do.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension GlobalOptions {
    /// Opens the bucket the settings name.
    func openStore(_ settings: FirnSettings) throws -> any ObjectStore {
        switch settings.resolvedBucket {
        case .directory(let path):
            return try DirectoryBucket(root: path)
        case .s3(let location):
            let credentials = try S3Credentials.fromEnvironment(ProcessInfo.processInfo.environment)
            return S3Bucket(location: location, credentials: credentials, httpClient: S3Client.shared)
        }
    }

    /// Opens ingest's journal, `<data-dir>/ingest.sqlite`.
    func openJournal(_ settings: FirnSettings) throws -> IngestJournal {
        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        return try IngestJournal(path: (settings.dataDirectory as NSString).appendingPathComponent("ingest.sqlite"))
    }
}

extension OutputFormat: ExpressibleByArgument {}

/// Prints a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// The HTTP client for S3 buckets: one for the process's lifetime (never shut down, so never
/// deinitialised), failing fast when the endpoint refuses connections so ingest's back-off takes
/// over, and not decompressing bodies, so objects arrive byte for byte as stored.
enum S3Client {
    static let shared = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(
            timeout: .init(connect: .seconds(5), read: .seconds(60)),
            decompression: .disabled
        )
    )
}

/// Prints a line to standard output at once, also when it is a pipe (a container's log, a
/// supervisor): the long-running commands' status lines must not wait in a buffer.
func printNow(_ text: String) {
    print(text)
    fflush(nil)
}
