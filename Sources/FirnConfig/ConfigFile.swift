/// The config file's shape (YAML). Every key is optional; a key not listed here is an error
/// naming its path (``UnknownKeyError``), so a misspelt setting is never silently ignored.
///
/// ```yaml
/// data_dir: ./firn-data
/// warehouse: sqlite:./firn-data/firn.sqlite
/// bucket: s3://firn/changes?endpoint=http://127.0.0.1:5000   # default file:<data_dir>/bucket
/// landing: ./firn-data/landing
/// entity:
///   name: product
///   keys: [{ name: sku, type: text }]
///   attributes:
///     - { name: title, type: text }
///     - { name: price, type: decimal }
///   event_time: updated_at   # default update_timestamp
///   op: op                   # default op
///   open_end: sentinel       # or null: the end_time history shows for open versions
///   track_history_except: [title]   # or track_history: [price]; default: every attribute
///   null_updates: apply      # or ignore: a NULL keeps the value in force (partial images)
///   deletes: close           # or record: a delete also shows as a row, is_deleted 1
///   schema_evolution: evolve # or ignore (new columns dropped) or reject (such a file fails)
///   widen_to_text: false     # true: under evolve, a value that fits only text makes its column text
/// sqlite:
///   page_size: 2048              # bytes a page of a new warehouse file (default 8192)
/// key_state_capacity: 1000000    # keys whose state the writer remembers (default 200000; 0: none)
/// reader:
///   chunk_rows: 100000           # rows per transaction, at most
///   chunk_bytes: 16777216        # file bytes per transaction, at most (the first reached ends it)
///   max_field_bytes: 1048576
/// ingest:                        # see IngestSettings
///   after_upload: delete
/// tasks:
///   - name: load                 # built in; default: on data
///     schedule: 1 minute         # the seed's behaviour
///   - name: hourly_counts
///     schedule: USING CRON 0 * * * * UTC
///     when: new_loads            # or stream_has_data; default: always
///     entity: customer           # with entities: whose stream stream_has_data reads (default: the first)
///     sql: INSERT INTO counts SELECT datetime('now'), count(*) FROM customer
///   - name: after_counts
///     after: [hourly_counts]
///     sql: DELETE FROM counts WHERE at < datetime('now', '-7 days')
/// ```
struct ConfigFile: Decodable {
    /// An entity, or (with no name, keys or attributes) options of the built-in customer.
    struct Entity: Decodable {
        var name: String?
        var keys: [Column]?
        var attributes: [Column]?
        var eventTime: String?
        var op: String?
        var openEnd: String?
        var trackHistory: [String]?
        var trackHistoryExcept: [String]?
        var nullUpdates: String?
        var deletes: String?
        var schemaEvolution: String?
        var widenToText: Bool?
        /// Under `entities:`, the routes of the entity's files (one string, or a list).
        var route: [String]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, keys, attributes, op, route
            case eventTime = "event_time"
            case openEnd = "open_end"
            case trackHistory = "track_history"
            case trackHistoryExcept = "track_history_except"
            case nullUpdates = "null_updates"
            case deletes
            case schemaEvolution = "schema_evolution"
            case widenToText = "widen_to_text"
        }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let values = try decoder.container(keyedBy: CodingKeys.self)
            name = try values.decodeIfPresent(String.self, forKey: .name)
            keys = try values.decodeIfPresent([Column].self, forKey: .keys)
            attributes = try values.decodeIfPresent([Column].self, forKey: .attributes)
            eventTime = try values.decodeIfPresent(String.self, forKey: .eventTime)
            op = try values.decodeIfPresent(String.self, forKey: .op)
            // YAML reads a bare `null` as no value: here it is the option's value.
            if values.contains(.openEnd), try values.decodeNil(forKey: .openEnd) {
                openEnd = "null"
            } else {
                openEnd = try values.decodeIfPresent(String.self, forKey: .openEnd)
            }
            trackHistory = try values.decodeIfPresent([String].self, forKey: .trackHistory)
            trackHistoryExcept = try values.decodeIfPresent([String].self, forKey: .trackHistoryExcept)
            nullUpdates = try values.decodeIfPresent(String.self, forKey: .nullUpdates)
            deletes = try values.decodeIfPresent(String.self, forKey: .deletes)
            schemaEvolution = try values.decodeIfPresent(String.self, forKey: .schemaEvolution)
            widenToText = try values.decodeIfPresent(Bool.self, forKey: .widenToText)
            if let one = try? values.decodeIfPresent(String.self, forKey: .route) {
                route = [one]
            } else {
                route = try values.decodeIfPresent([String].self, forKey: .route)
            }
        }
    }

    struct Column: Decodable {
        var name: String
        var type: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, type
        }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let values = try decoder.container(keyedBy: CodingKeys.self)
            name = try values.decode(String.self, forKey: .name)
            type = try values.decodeIfPresent(String.self, forKey: .type)
        }
    }

    struct Task: Decodable {
        var name: String
        var schedule: String?
        var onData: Bool?
        var after: [String]?
        var when: String?
        var sql: String?
        var retries: Int?
        var suspendAfterFailures: Int?
        var days: Int?
        var entity: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, schedule, after, when, sql, retries, days, entity
            case onData = "on_data"
            case suspendAfterFailures = "suspend_after_failures"
        }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let values = try decoder.container(keyedBy: CodingKeys.self)
            name = try values.decode(String.self, forKey: .name)
            schedule = try values.decodeIfPresent(String.self, forKey: .schedule)
            onData = try values.decodeIfPresent(Bool.self, forKey: .onData)
            after = try values.decodeIfPresent([String].self, forKey: .after)
            when = try values.decodeIfPresent(String.self, forKey: .when)
            sql = try values.decodeIfPresent(String.self, forKey: .sql)
            retries = try values.decodeIfPresent(Int.self, forKey: .retries)
            suspendAfterFailures = try values.decodeIfPresent(Int.self, forKey: .suspendAfterFailures)
            days = try values.decodeIfPresent(Int.self, forKey: .days)
            entity = try values.decodeIfPresent(String.self, forKey: .entity)
        }
    }

    struct Reader: Decodable {
        var chunkRows: Int?
        var chunkBytes: Int?
        var maxFieldBytes: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case chunkRows = "chunk_rows"
            case chunkBytes = "chunk_bytes"
            case maxFieldBytes = "max_field_bytes"
        }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let values = try decoder.container(keyedBy: CodingKeys.self)
            chunkRows = try values.decodeIfPresent(Int.self, forKey: .chunkRows)
            chunkBytes = try values.decodeIfPresent(Int.self, forKey: .chunkBytes)
            maxFieldBytes = try values.decodeIfPresent(Int.self, forKey: .maxFieldBytes)
        }
    }

    /// Options of an SQLite warehouse.
    struct SQLite: Decodable {
        var pageSize: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case pageSize = "page_size"
        }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let values = try decoder.container(keyedBy: CodingKeys.self)
            pageSize = try values.decodeIfPresent(Int.self, forKey: .pageSize)
        }
    }

    struct Ingest: Decodable {
        var keyTemplate: String?
        var afterUpload: String?
        var maxAttempts: Int?
        var maxFilesInFlight: Int?
        var maxBytesInFlight: Int?
        var rescanInterval: Double?
        var stabilityInterval: Double?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case keyTemplate = "key_template"
            case afterUpload = "after_upload"
            case maxAttempts = "max_attempts"
            case maxFilesInFlight = "max_files_in_flight"
            case maxBytesInFlight = "max_bytes_in_flight"
            case rescanInterval = "rescan_interval"
            case stabilityInterval = "stability_interval"
        }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let values = try decoder.container(keyedBy: CodingKeys.self)
            keyTemplate = try values.decodeIfPresent(String.self, forKey: .keyTemplate)
            afterUpload = try values.decodeIfPresent(String.self, forKey: .afterUpload)
            maxAttempts = try values.decodeIfPresent(Int.self, forKey: .maxAttempts)
            maxFilesInFlight = try values.decodeIfPresent(Int.self, forKey: .maxFilesInFlight)
            maxBytesInFlight = try values.decodeIfPresent(Int.self, forKey: .maxBytesInFlight)
            rescanInterval = try values.decodeIfPresent(Double.self, forKey: .rescanInterval)
            stabilityInterval = try values.decodeIfPresent(Double.self, forKey: .stabilityInterval)
        }
    }

    var dataDir: String?
    var warehouse: String?
    var bucket: String?
    var landing: String?
    var entity: Entity?
    var entities: [Entity]?
    var reader: Reader?
    var sqlite: SQLite?
    var keyStateCapacity: Int?
    var ingest: Ingest?
    var tasks: [Task]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case warehouse, bucket, landing, entity, entities, reader, sqlite, ingest, tasks
        case dataDir = "data_dir"
        case keyStateCapacity = "key_state_capacity"
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let values = try decoder.container(keyedBy: CodingKeys.self)
        dataDir = try values.decodeIfPresent(String.self, forKey: .dataDir)
        warehouse = try values.decodeIfPresent(String.self, forKey: .warehouse)
        bucket = try values.decodeIfPresent(String.self, forKey: .bucket)
        landing = try values.decodeIfPresent(String.self, forKey: .landing)
        entity = try values.decodeIfPresent(Entity.self, forKey: .entity)
        entities = try values.decodeIfPresent([Entity].self, forKey: .entities)
        reader = try values.decodeIfPresent(Reader.self, forKey: .reader)
        sqlite = try values.decodeIfPresent(SQLite.self, forKey: .sqlite)
        keyStateCapacity = try values.decodeIfPresent(Int.self, forKey: .keyStateCapacity)
        ingest = try values.decodeIfPresent(Ingest.self, forKey: .ingest)
        tasks = try values.decodeIfPresent([Task].self, forKey: .tasks)
    }
}

/// A key the config file does not know, at `path` (`entity.keys.0.typ`), with the keys known
/// at that level.
struct UnknownKeyError: Error {
    var path: String
    var known: [String]
}

/// Any key of a mapping, to list the keys a config section holds.
private struct AnyConfigKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension Decoder {
    /// Throws ``UnknownKeyError`` when the mapping being decoded holds a key `Keys` does not list.
    func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws {
        let known = Keys.allCases.map(\.stringValue)
        let present = try container(keyedBy: AnyConfigKey.self).allKeys
        if let unknown = present.first(where: { !known.contains($0.stringValue) }) {
            throw UnknownKeyError(path: FirnSettings.path(codingPath + [unknown]), known: known.sorted())
        }
    }
}
