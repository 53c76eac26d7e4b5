import FirnCore
import FirnWarehouse

/// The SQLite tables, indexes, triggers and statements of one entity, derived once from its
/// ``EntityConfiguration``.
///
/// Every identifier spliced here is an ``Identifier`` (validated, then quoted); every value
/// is bound. Tables (for entity `customer`):
/// - `customer_raw`: staging, every accepted row with `load_id`, `source_file`, `source_row`
///   and `loaded_at`; an append-only log (no index by key).
/// - `customer_unchanged`: records that counted but changed nothing; with history's version
///   boundaries, every record that counts, so late records are replayed without staging.
/// - `customer`: SCD1, one row per live key; `update_timestamp` is the open version's start.
/// - `customer_history`: SCD2, a view (see `EntitySchema+History.swift`): the closed versions
///   of `customer_history_closed` and the open ones, which are the SCD1 rows (as they were
///   before any manual DML not yet taken from the stream: `customer_before_dml`).
/// - `customer_changes`: the change log behind the stream on `customer`, written by triggers
///   for every change that the pipeline itself did not make (manual DML).
struct EntitySchema: Sendable, EntitySQLNames {
    let entity: EntityConfiguration


    /// A key of exactly one integer column becomes the SCD1 table's rowid (fastest lookups).
    var hasIntegerRowidKey: Bool { entity.keyColumns.count == 1 && entity.keyColumns[0].type == .integer }

    static func sqlType(_ type: ColumnType) -> String {
        switch type {
        case .integer, .boolean: "INTEGER"
        case .text, .decimal, .date, .timestamp: "TEXT"
        }
    }

    func columnDefinitions(_ columns: [Column], prefix: String = "") -> [String] {
        columns.map { "\(Identifier(stringLiteral: prefix + $0.name.normalized).quoted) \(Self.sqlType($0.type))" }
    }

    /// The SCD1 columns that the change log keeps before and after images of.
    var imageColumns: [Column] {
        entity.keyColumns + entity.attributeColumns + [Column(entity.eventTimeColumn, .timestamp)]
    }

    var keyMatch: String { keys.map { "\($0) = ?" }.joined(separator: " AND ") }

    /// DDL for the entity's tables, indexes and stream triggers; idempotent.
    var creationStatements: [String] {
        let keyDefs = columnDefinitions(entity.keyColumns)
        let attrDefs = columnDefinitions(entity.attributeColumns)
        var statements: [String] = []
        statements.append(
            """
            CREATE TABLE IF NOT EXISTS \(raw) (
                load_id INTEGER NOT NULL,
                source_row INTEGER NOT NULL,
                \((keyDefs + attrDefs).joined(separator: ",\n    ")),
                \(eventTime) TEXT NOT NULL,
                \(op) TEXT NOT NULL,
                source_file TEXT NOT NULL,
                loaded_at TEXT NOT NULL
            )
            """
        )
        statements.append(
            """
            CREATE TABLE IF NOT EXISTS \(unchanged) (
                \((keyDefs.map { $0 + " NOT NULL" }).joined(separator: ",\n    ")),
                \(eventTime) TEXT NOT NULL,
                \(op) TEXT NOT NULL,
                \(attrDefs.joined(separator: ",\n    ")),
                chunk_id INTEGER NOT NULL,
                source_row INTEGER NOT NULL,
                PRIMARY KEY (\(keyList), \(eventTime))
            ) WITHOUT ROWID
            """
        )
        if hasIntegerRowidKey {
            statements.append(
                """
                CREATE TABLE IF NOT EXISTS \(current) (
                    \(keys[0]) INTEGER PRIMARY KEY,
                    \(attrDefs.joined(separator: ",\n    ")),
                    \(eventTime) TEXT
                )
                """
            )
        } else {
            statements.append(
                """
                CREATE TABLE IF NOT EXISTS \(current) (
                    \((keyDefs.map { $0 + " NOT NULL" } + attrDefs).joined(separator: ",\n    ")),
                    \(eventTime) TEXT,
                    PRIMARY KEY (\(keyList))
                ) WITHOUT ROWID
                """
            )
        }
        statements += historyStatements(keyDefs: keyDefs, attrDefs: attrDefs)
        statements.append(lateTable)
        let oldDefs = columnDefinitions(imageColumns, prefix: "old_")
        let newDefs = columnDefinitions(imageColumns, prefix: "new_")
        statements.append(
            """
            CREATE TABLE IF NOT EXISTS \(changes) (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                action TEXT NOT NULL,
                changed_at TEXT NOT NULL,
                \((oldDefs + newDefs).joined(separator: ",\n    "))
            )
            """
        )
        statements += triggerStatements
        statements.append(
            "INSERT OR IGNORE INTO firn_streams (name, table_name, \"offset\", updated_at) VALUES "
                + "('\(entity.streamName.normalized)', '\(entity.currentTable.normalized)', 0, \(Self.nowSQL))"
        )
        return statements
    }

    /// The late records (``LateRecord``), by key.
    var lateTable: String {
        """
        CREATE TABLE IF NOT EXISTS \(late) (
            \((columnDefinitions(entity.keyColumns).map { $0 + " NOT NULL" }).joined(separator: ",\n    ")),
            \(eventTime) TEXT NOT NULL,
            \(op) TEXT NOT NULL,
            load_id INTEGER NOT NULL,
            source_row INTEGER NOT NULL,
            latest_before TEXT NOT NULL,
            PRIMARY KEY (\(keyList), load_id, source_row)
        ) WITHOUT ROWID
        """
    }

    /// DDL for Firn's shared tables: load history, rejects, streams and the origin flag.
    static let sharedStatements: [String] = [
        // Tasks (built-in steps and user SQL) and their run history.
        """
        CREATE TABLE IF NOT EXISTS firn_tasks (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            task_trigger TEXT NOT NULL,
            body TEXT NOT NULL,
            state TEXT NOT NULL,
            consecutive_failures INTEGER NOT NULL,
            seen_load_id INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS firn_task_runs (
            run_id INTEGER PRIMARY KEY AUTOINCREMENT,
            task TEXT NOT NULL,
            run_trigger TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,
            rows_affected INTEGER NOT NULL,
            error TEXT
        )
        """,
        // Objects the pipe has taken from the bucket (by key and ETag), and the load that took them.
        """
        CREATE TABLE IF NOT EXISTS firn_pipe_objects (
            object_key TEXT NOT NULL,
            etag TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            load_id INTEGER,
            status TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            loaded_at TEXT,
            PRIMARY KEY (object_key, etag)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE IF NOT EXISTS firn_loads (
            load_id INTEGER PRIMARY KEY AUTOINCREMENT,
            entity TEXT NOT NULL,
            source TEXT NOT NULL,
            file_name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            status TEXT NOT NULL,
            rows_done INTEGER NOT NULL DEFAULT 0,
            rows_loaded INTEGER NOT NULL DEFAULT 0,
            rows_rejected INTEGER NOT NULL DEFAULT 0,
            versions_opened INTEGER NOT NULL DEFAULT 0,
            versions_closed INTEGER NOT NULL DEFAULT 0,
            event_time_default TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            error TEXT,
            warnings TEXT
        )
        """,
        "CREATE INDEX IF NOT EXISTS firn_loads_by_content ON firn_loads (entity, file_name, checksum)",
        // Every applied chunk, in commit order: its id is the arrival order of its records.
        """
        CREATE TABLE IF NOT EXISTS firn_chunks (
            chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
            load_id INTEGER NOT NULL,
            first_row INTEGER NOT NULL,
            last_row INTEGER NOT NULL,
            applied_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS firn_rejects (
            reject_id INTEGER PRIMARY KEY AUTOINCREMENT,
            load_id INTEGER NOT NULL,
            entity TEXT NOT NULL,
            source_file TEXT NOT NULL,
            source_row INTEGER NOT NULL,
            raw_text TEXT NOT NULL,
            reason TEXT NOT NULL,
            rejected_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS firn_streams (
            name TEXT PRIMARY KEY,
            table_name TEXT NOT NULL,
            "offset" INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        "CREATE TABLE IF NOT EXISTS firn_context (origin TEXT NOT NULL)",
        "INSERT INTO firn_context (origin) SELECT 'manual' WHERE NOT EXISTS (SELECT 1 FROM firn_context)",
    ]

    // MARK: Statements used while applying a batch

    /// Staging's columns, in the order ``BufferedWrite`` binds a staging row.
    var rawColumns: [String] {
        ["load_id", "source_row"] + keys + attributes + [eventTime, op, "source_file", "loaded_at"]
    }

    /// True when neither history nor the unchanged records hold a row (no key has a state).
    var holdsNoKeyState: String {
        "SELECT NOT EXISTS (SELECT 1 FROM \(history)) AND NOT EXISTS (SELECT 1 FROM \(unchanged))"
    }

    /// Whether any unchanged record of a key is at or after a time: parameters the time, then
    /// the key columns; the one column is NULL when the key has none.
    var unchangedFrom: String { "SELECT max(\(eventTime)) >= ? FROM \(unchanged) WHERE \(keyMatch)" }

    var unchangedRecordsFrom: String {
        "SELECT \(attributeList), \(eventTime), \(op), chunk_id, source_row FROM \(unchanged) WHERE \(keyMatch) "
            + "AND \(eventTime) >= ?"
    }

    var deleteUnchangedFrom: String { "DELETE FROM \(unchanged) WHERE \(keyMatch) AND \(eventTime) >= ?" }

    var insertUnchanged: String {
        let columns = keys + [eventTime, op] + attributes + ["chunk_id", "source_row"]
        return "INSERT INTO \(unchanged) (\(columns.joined(separator: ", "))) VALUES (\(placeholders(columns.count)))"
    }

    var insertLate: String {
        let columns = keys + [eventTime, op, "load_id", "source_row", "latest_before"]
        return "INSERT INTO \(late) (\(columns.joined(separator: ", "))) VALUES (\(placeholders(columns.count)))"
    }

    var deleteCurrent: String { "DELETE FROM \(current) WHERE \(keyMatch)" }

    func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}
