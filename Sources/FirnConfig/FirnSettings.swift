import FirnCore
import FirnIngest
import FirnObjectStore
import FirnPostgresWarehouse
import FirnTasks
import Foundation
import Yams

/// Where Firn keeps its data and which entity it maintains: everything a command needs,
/// from flags and the config file.
///
/// Precedence: a command-line flag wins over the config file, which wins over the defaults.
public struct FirnSettings: Sendable, Hashable {
    /// The data directory. Defaults to `./firn-data`.
    public var dataDirectory: String = "./firn-data"
    /// The warehouse. Defaults to `sqlite:<data-dir>/firn.sqlite`.
    public var warehouse: WarehouseLocation?
    /// The entity. Defaults to the built-in ``EntityConfiguration/customer``. When the config
    /// lists several (``entities``), the first.
    public var entity: EntityConfiguration = .customer
    /// The entities of a config that lists them (`entities:`), with their files' routes; empty
    /// for a config with one `entity:` or none.
    public var entities: [RoutedEntity] = []
    /// Reader settings: chunk size and field size limit.
    public var reader: ReaderConfiguration = .init()
    /// The page size of a new SQLite warehouse file, in bytes (`sqlite.page_size`); `nil`
    /// for the warehouse's default. An existing file keeps its own.
    public var sqlitePageSize: Int?
    /// Keys whose state the writer remembers between chunks (`key_state_capacity`), so that it
    /// need not read them back; `nil` for the default (`KeyStateCache.defaultCapacity`), `0`
    /// for none. Each costs about 300 bytes of memory for the customer entity.
    public var keyStateCapacity: Int?
    /// The bucket. Defaults to `file:<data-dir>/bucket`.
    public var bucket: BucketLocation?
    /// The landing directory ingest watches. Defaults to `<data-dir>/landing`.
    public var landingDirectory: String?
    /// The config file's `ingest:` section. Defaults to none (``IngestConfiguration``'s defaults).
    public var ingest: IngestSettings = .init()
    /// The tasks: the built-in `load` and `retention` (as configured) and user SQL tasks.
    /// Defaults to ``TaskDefinition/load`` and ``TaskDefinition/retention``.
    public var tasks: [TaskDefinition] = [.load, .retention]

    /// Creates the defaults.
    public init() {}

    /// The warehouse location in force: the configured one, or the default under the data directory.
    public var resolvedWarehouse: WarehouseLocation {
        warehouse ?? .sqlite(path: (dataDirectory as NSString).appendingPathComponent("firn.sqlite"))
    }

    /// Refuses SQLite settings (`sqlite:`) with a PostgreSQL warehouse, which would ignore
    /// them; call again once flags have replaced the warehouse.
    ///
    /// - Parameter source: The config file the settings came from, for the message.
    /// - Throws: ``ConfigurationError``.
    public func checkWarehouseOptions(source: String) throws(ConfigurationError) {
        guard sqlitePageSize != nil, case .postgres = resolvedWarehouse else { return }
        throw .invalid("\(source): sqlite.page_size is for an SQLite warehouse, and the warehouse is PostgreSQL")
    }

    /// The bucket in force: the configured one, or `file:<data-dir>/bucket`.
    public var resolvedBucket: BucketLocation {
        bucket ?? .directory(path: (dataDirectory as NSString).appendingPathComponent("bucket"))
    }

    /// The landing directory in force: the configured one, or `<data-dir>/landing`.
    public var resolvedLandingDirectory: String {
        landingDirectory ?? (dataDirectory as NSString).appendingPathComponent("landing")
    }
}

/// Where the warehouse is: `sqlite:PATH`, or a PostgreSQL server
/// (`postgres://user:password@host:port/database?sslmode=…&schema=…`, parts left out taken from
/// the `PG*` environment variables).
public enum WarehouseLocation: Sendable, Hashable, CustomStringConvertible {
    /// An SQLite file.
    case sqlite(path: String)
    /// A schema in a PostgreSQL database.
    case postgres(PostgresLocation)

    /// Parses `sqlite:PATH` (also `sqlite://PATH`) or `postgres://…` (also `postgresql://…`).
    ///
    /// - Throws: ``ConfigurationError`` saying which forms are accepted.
    public init(parsing text: String) throws(ConfigurationError) {
        if text.hasPrefix("sqlite://") {
            self = .sqlite(path: String(text.dropFirst("sqlite://".count)))
        } else if text.hasPrefix("sqlite:") {
            self = .sqlite(path: String(text.dropFirst("sqlite:".count)))
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            do {
                self = .postgres(try PostgresLocation(parsing: text))
            } catch {
                throw .invalid("warehouse: \(error.description)")
            }
        } else {
            throw .invalid(
                "warehouse \(URLRedaction.redacted(text).debugDescription): expected sqlite:PATH or postgres://…"
            )
        }
        if case .sqlite(let path) = self, path.isEmpty { throw .invalid("warehouse sqlite: needs a file path") }
    }

    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let location): location.description
        }
    }
}

extension FirnSettings {
    /// Reads a YAML config file over the defaults.
    ///
    /// - Throws: ``ConfigurationError`` naming the file and what is wrong in it.
    public static func load(configFile path: String) throws(ConfigurationError) -> FirnSettings {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .invalid("cannot read config file \(path)")
        }
        return try parse(yaml: text, source: path)
    }

    /// Parses YAML config text over the defaults.
    ///
    /// - Throws: ``ConfigurationError``.
    public static func parse(yaml: String, source: String = "config") throws(ConfigurationError) -> FirnSettings {
        let file: ConfigFile
        do {
            file = try YAMLDecoder().decode(ConfigFile.self, from: yaml)
        } catch let error as DecodingError {
            // Yams wraps errors thrown while decoding a section as "not valid YAML".
            if case .dataCorrupted(let context) = error, let unknown = context.underlyingError as? UnknownKeyError {
                throw .invalid(
                    "unknown key \(unknown.path) in \(source); known keys here: \(unknown.known.joined(separator: ", "))"
                )
            }
            throw .invalid("\(source): \(Self.describe(error))")
        } catch {
            throw .invalid("\(source): \(error)")
        }
        var settings = FirnSettings()
        if let dataDir = file.dataDir { settings.dataDirectory = dataDir }
        if let warehouse = file.warehouse { settings.warehouse = try WarehouseLocation(parsing: warehouse) }
        if let bucket = file.bucket {
            do {
                settings.bucket = try BucketLocation(parsing: bucket)
            } catch {
                throw .invalid("\(source): \(error)")
            }
        }
        if let landing = file.landing { settings.landingDirectory = landing }
        if let tasks = file.tasks { settings.tasks = try Self.tasks(tasks, source: source) }
        if let entity = file.entity {
            guard file.entities == nil else {
                throw .invalid("\(source): give entity (one) or entities (a list), not both")
            }
            guard entity.route == nil else {
                throw .invalid(
                    "\(source): entity.route: routes are for a list of entities (entities:), which they tell apart"
                )
            }
            settings.entity = try Self.entity(entity, source: source)
        }
        if let entries = file.entities {
            settings.entities = try Self.entities(entries, source: source)
            settings.entity = settings.entities[0].entity
        }
        for task in settings.tasks {
            guard let name = task.entity else { continue }
            do {
                _ = try settings.entity(named: name)
            } catch {
                throw .invalid("\(source): task \(task.name): \(error.message)")
            }
        }
        if let ingest = file.ingest { settings.ingest = try Self.ingest(ingest, source: source) }
        if let pageSize = file.sqlite?.pageSize {
            do {
                settings.sqlitePageSize = try NumericBounds.checkPageSize(pageSize, "sqlite.page_size")
            } catch {
                throw .invalid("\(source): \(error)")
            }
            try settings.checkWarehouseOptions(source: source)
        }
        if let capacity = file.keyStateCapacity {
            settings.keyStateCapacity = try bounded(
                NumericBounds.keyStateCapacity,
                capacity,
                "key_state_capacity",
                source
            )
        }
        if let reader = file.reader {
            if let rows = reader.chunkRows {
                settings.reader.chunkRows = try bounded(NumericBounds.chunkRows, rows, "reader.chunk_rows", source)
            }
            if let bytes = reader.chunkBytes {
                settings.reader.chunkBytes = try bounded(NumericBounds.chunkBytes, bytes, "reader.chunk_bytes", source)
            }
            if let bytes = reader.maxFieldBytes {
                settings.reader.maxFieldBytes = try bounded(
                    NumericBounds.maxFieldBytes,
                    bytes,
                    "reader.max_field_bytes",
                    source
                )
            }
        }
        return settings
    }

    /// The entities of `entities:`: distinct names, each with its routes (required when there
    /// are several).
    static func entities(_ entries: [ConfigFile.Entity], source: String) throws(ConfigurationError) -> [RoutedEntity] {
        guard !entries.isEmpty else {
            throw .invalid("\(source): entities is empty: list at least one, or leave it out")
        }
        var result: [RoutedEntity] = []
        for (index, entry) in entries.enumerated() {
            let place = "\(source): entities[\(index)]"
            let entity = try Self.entity(entry, source: place)
            guard !result.contains(where: { $0.entity.name == entity.name }) else {
                throw .invalid("\(place): entity \(entity.name) is listed twice")
            }
            var routes: [FileRoute] = []
            for pattern in entry.route ?? [] {
                do {
                    routes.append(try FileRoute(validating: pattern))
                } catch {
                    throw .invalid("\(place).route: \(error.message)")
                }
            }
            if entries.count > 1, routes.isEmpty {
                throw .invalid(
                    "\(place): entity \(entity.name) has no route: with several entities each says which files are its own "
                        + "(route: customers/ for a landing sub-folder, or a file-name pattern such as orders-*.jsonl)"
                )
            }
            result.append(RoutedEntity(entity: entity, routes: routes))
        }
        return result
    }

    static func entity(_ entity: ConfigFile.Entity, source: String) throws(ConfigurationError) -> EntityConfiguration {
        func column(_ column: ConfigFile.Column) throws(ConfigurationError) -> FirnCore.Column {
            let name = try Identifier(validating: column.name)
            guard let typeName = column.type else { return FirnCore.Column(name, .text) }
            guard let type = ColumnType(rawValue: typeName.lowercased()) else {
                let known = ColumnType.allCases.map(\.rawValue).joined(separator: ", ")
                throw .invalid(
                    "\(source): column \(column.name): unknown type \(typeName.debugDescription) (use \(known))"
                )
            }
            return FirnCore.Column(name, type)
        }
        let openEnd = try choice(entity.openEnd, "open_end", source: source) ?? OpenEnd.sentinel
        let deletes = try choice(entity.deletes, "deletes", source: source) ?? DeletePolicy.close
        let evolution = try choice(entity.schemaEvolution, "schema_evolution", source: source) ?? SchemaEvolution.evolve
        var configuration: EntityConfiguration
        switch (entity.name, entity.keys, entity.attributes) {
        case (nil, nil, nil):
            // Options of the built-in customer.
            guard entity.eventTime == nil, entity.op == nil else {
                throw .invalid(
                    "\(source): entity: event_time and op belong to an entity's definition: give its name, keys and attributes too"
                )
            }
            configuration = .customer
        case (let name?, let keyEntries?, let attributeEntries?):
            var keys: [FirnCore.Column] = []
            for key in keyEntries { keys.append(try column(key)) }
            var attributes: [FirnCore.Column] = []
            for attribute in attributeEntries { attributes.append(try column(attribute)) }
            configuration = try EntityConfiguration(
                name: try Identifier(validating: name),
                keyColumns: keys,
                attributeColumns: attributes,
                eventTimeColumn: try Identifier(validating: entity.eventTime ?? "update_timestamp"),
                operationColumn: try Identifier(validating: entity.op ?? "op")
            )
        default:
            let missing = [
                ("name", entity.name == nil), ("keys", entity.keys == nil), ("attributes", entity.attributes == nil),
            ]
            .filter(\.1).map(\.0)
            throw .invalid(
                "\(source): entity: \(missing.joined(separator: " and ")) missing: an entity is defined by its name, keys "
                    + "and attributes together (leave all three out to set options of the built-in customer)"
            )
        }
        configuration.openEnd = openEnd
        if deletes == .record, configuration.attributeColumns.contains(where: { $0.name == "is_deleted" }) {
            throw .invalid(
                "\(source): entity.deletes: record adds a column is_deleted to \(configuration.historyTable), "
                    + "which attribute is_deleted of \(configuration.name) already is; rename the attribute or use deletes: close"
            )
        }
        configuration.deletes = deletes
        configuration.schemaEvolution = evolution
        if let widen = entity.widenToText {
            guard evolution == .evolve else {
                throw .invalid(
                    "\(source): entity.widen_to_text: columns are widened only under schema_evolution: evolve, "
                        + "not \(evolution.rawValue); remove widen_to_text or use evolve"
                )
            }
            configuration.widenToText = widen
        }
        try historyPolicy(of: entity, into: &configuration, source: source)
        return configuration
    }

    /// `track_history`, `track_history_except` and `null_updates`: names checked against the
    /// entity's attributes, so a misspelt column is an error rather than a silently tracked one.
    static func historyPolicy(
        of entity: ConfigFile.Entity,
        into configuration: inout EntityConfiguration,
        source: String
    ) throws(ConfigurationError) {
        if let parsed = try choice(entity.nullUpdates, "null_updates", as: NullUpdates.self, source: source) {
            configuration.nullUpdates = parsed
        }
        let attributes = configuration.attributeColumns.map(\.name)
        func names(_ list: [String], _ option: String) throws(ConfigurationError) -> Set<Identifier> {
            var found = Set<Identifier>()
            for name in list {
                guard let identifier = try? Identifier(validating: name), attributes.contains(identifier) else {
                    let known = attributes.map(\.normalized).joined(separator: ", ")
                    throw .invalid(
                        "\(source): entity.\(option): \(name.debugDescription) is not an attribute of \(configuration.name) (attributes: \(known))"
                    )
                }
                found.insert(identifier)
            }
            return found
        }
        switch (entity.trackHistory, entity.trackHistoryExcept) {
        case (nil, nil):
            break
        case (let tracked?, nil):
            let kept = try names(tracked, "track_history")
            configuration.untrackedAttributes = Set(attributes.filter { !kept.contains($0) })
        case (nil, let untracked?):
            configuration.untrackedAttributes = try names(untracked, "track_history_except")
        case (.some, .some):
            throw .invalid("\(source): entity: give track_history or track_history_except, not both")
        }
        guard configuration.untrackedAttributes.count < attributes.count || attributes.isEmpty else {
            throw .invalid(
                "\(source): entity: track_history leaves no attribute tracked, so no change would ever open a version; "
                    + "track at least one"
            )
        }
    }

    /// An entity option with a fixed set of values (`entity.<option>`), case-insensitive;
    /// `nil` when absent, an error listing the values when unknown.
    static func choice<Option: RawRepresentable & CaseIterable>(
        _ text: String?,
        _ option: String,
        as type: Option.Type = Option.self,
        source: String
    ) throws(ConfigurationError) -> Option? where Option.RawValue == String {
        guard let text else { return nil }
        guard let parsed = Option(rawValue: text.lowercased()) else {
            let known = Option.allCases.map(\.rawValue).joined(separator: " or ")
            throw .invalid("\(source): entity.\(option): unknown value \(text.debugDescription) (use \(known))")
        }
        return parsed
    }

    static func ingest(_ entry: ConfigFile.Ingest, source: String) throws(ConfigurationError) -> IngestSettings {
        var ingest = IngestSettings()
        if let text = entry.keyTemplate {
            do {
                ingest.keyTemplate = try ObjectKeyTemplate(text)
            } catch {
                throw .invalid("\(source): ingest.\(error)")
            }
        }
        if let text = entry.afterUpload {
            guard let after = IngestConfiguration.AfterUpload(rawValue: text) else {
                throw .invalid("\(source): ingest.after_upload is archive or delete, not \(text.debugDescription)")
            }
            ingest.afterUpload = after
        }
        if let value = entry.maxAttempts {
            ingest.maxAttempts = try bounded(NumericBounds.ingestAttempts, value, "ingest.max_attempts", source)
        }
        if let value = entry.maxFilesInFlight {
            ingest.maxFilesInFlight = try bounded(
                NumericBounds.ingestFilesInFlight,
                value,
                "ingest.max_files_in_flight",
                source
            )
        }
        if let value = entry.maxBytesInFlight {
            ingest.maxBytesInFlight = try bounded(
                NumericBounds.ingestBytesInFlight,
                value,
                "ingest.max_bytes_in_flight",
                source
            )
        }
        func seconds(
            _ bound: NumericBound<Double>,
            _ value: Double,
            _ key: String
        ) throws(ConfigurationError) -> Duration {
            do {
                return .milliseconds(Int64((try bound.check(value, key) * 1000).rounded()))
            } catch {
                throw .invalid("\(source): \(error)")
            }
        }
        if let value = entry.rescanInterval {
            ingest.rescanInterval = try seconds(NumericBounds.rescanInterval, value, "ingest.rescan_interval")
        }
        if let value = entry.stabilityInterval {
            ingest.stabilityInterval = try seconds(NumericBounds.stabilityInterval, value, "ingest.stability_interval")
        }
        return ingest
    }

    /// `value` when `bound` allows it; else an error naming the file, the key and the range.
    static func bounded(
        _ bound: NumericBound<Int>,
        _ value: Int,
        _ key: String,
        _ source: String
    ) throws(ConfigurationError) -> Int {
        do {
            return try bound.check(value, key)
        } catch {
            throw .invalid("\(source): \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            "missing key \(path(context.codingPath + [key]))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "wrong value at \(path(context.codingPath)): \(context.debugDescription)"
        case .dataCorrupted(let context):
            "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            "\(error)"
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "top level" : keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
