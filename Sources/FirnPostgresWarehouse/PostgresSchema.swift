import FirnCore
import FirnWarehouse

/// The PostgreSQL tables, view, triggers and statements of one entity, derived once from its
/// ``EntityConfiguration``: the same tables as on SQLite, with the same names and values.
///
/// Integer and boolean columns are `bigint`; every other type is `text` in Firn's canonical
/// form (timestamps `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, which sort as times), so a value reads
/// back exactly as it was loaded, whichever backend holds it. Every identifier spliced here is
/// an ``Identifier`` (validated, then quoted); every value is bound. Statements name tables
/// without a schema: each connection's `search_path` is the warehouse's schema.
struct PostgresSchema: Sendable, EntitySQLNames {
    let entity: EntityConfiguration
    /// The advisory lock that serialises changes to the entity's tables: the pipeline's chunks
    /// take it, and so does any other client's DML on SCD1 (a statement trigger), before either
    /// touches a row.
    let applyLock: Int64

    static func sqlType(_ type: ColumnType) -> String {
        switch type {
        case .integer, .boolean: "bigint"
        case .text, .decimal, .date, .timestamp: "text"
        }
    }

    /// Names a connection's temporary copies of the entity's tables by how its attributes are
    /// stored: their number and a hash of their SQL types, which change as attributes are added
    /// or widened (a copy of another shape would refuse the rows loudly, never take them wrong).
    var storageTag: String {
        var hash: UInt32 = 2_166_136_261
        for column in entity.attributeColumns {
            hash = (hash ^ (Self.sqlType(column.type) == "bigint" ? 1 : 2)) &* 16_777_619
        }
        return "\(entity.attributeColumns.count)_\(String(hash, radix: 16))"
    }

    func definitions(_ columns: [Column], prefix: String = "", notNull: Bool = false) -> [String] {
        columns.map {
            "\(Identifier(stringLiteral: prefix + $0.name.normalized).quoted) \(Self.sqlType($0.type))"
                + (notNull ? " NOT NULL" : "")
        }
    }

    /// The SCD1 columns that the change log keeps before and after images of.
    var imageColumns: [Column] {
        entity.keyColumns + entity.attributeColumns + [Column(entity.eventTimeColumn, .timestamp)]
    }

    /// `k1 = $n AND k2 = $n+1 …` from parameter `first` on.
    func keyMatch(from first: Int) -> String {
        keys.enumerated().map { "\($1) = $\(first + $0)" }.joined(separator: " AND ")
    }

    /// True in any transaction but the pipeline's (which sets `firn.origin` for itself only).
    static let notThePipeline = "current_setting('firn.origin', true) IS DISTINCT FROM 'pipeline'"

    /// The current time as stored.
    static let nowSQL = "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"

    // MARK: Tables

    /// Firn's own tables, shared by the entities of a schema.
    static let sharedStatements: [String] = [
        """
        CREATE TABLE IF NOT EXISTS firn_entities (
            name text PRIMARY KEY, definition text NOT NULL, recorded_at text NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS firn_tasks (
            name text PRIMARY KEY, kind text NOT NULL, task_trigger text NOT NULL, body text NOT NULL,
            state text NOT NULL, consecutive_failures bigint NOT NULL, seen_load_id bigint NOT NULL,
            updated_at text NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS firn_task_runs (
            run_id bigserial PRIMARY KEY, task text NOT NULL, run_trigger text NOT NULL, attempt bigint NOT NULL,
            started_at text NOT NULL, finished_at text, status text NOT NULL, rows_affected bigint NOT NULL,
            error text)
        """,
        """
        CREATE TABLE IF NOT EXISTS firn_pipe_objects (
            object_key text NOT NULL, etag text NOT NULL, size_bytes bigint NOT NULL, load_id bigint,
            status text NOT NULL, seen_at text NOT NULL, loaded_at text, PRIMARY KEY (object_key, etag))
        """,
        """
        CREATE TABLE IF NOT EXISTS firn_loads (
            load_id bigserial PRIMARY KEY, entity text NOT NULL, source text NOT NULL, file_name text NOT NULL,
            checksum text NOT NULL, size_bytes bigint NOT NULL, status text NOT NULL,
            rows_done bigint NOT NULL DEFAULT 0, rows_loaded bigint NOT NULL DEFAULT 0,
            rows_rejected bigint NOT NULL DEFAULT 0, versions_opened bigint NOT NULL DEFAULT 0,
            versions_closed bigint NOT NULL DEFAULT 0, event_time_default text NOT NULL, started_at text NOT NULL,
            finished_at text, error text, warnings text)
        """,
        "CREATE INDEX IF NOT EXISTS firn_loads_by_content ON firn_loads (entity, file_name, checksum)",
        """
        CREATE TABLE IF NOT EXISTS firn_chunks (
            chunk_id bigserial PRIMARY KEY, load_id bigint NOT NULL, first_row bigint NOT NULL,
            last_row bigint NOT NULL, applied_at text NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS firn_rejects (
            reject_id bigserial PRIMARY KEY, load_id bigint NOT NULL, entity text NOT NULL,
            source_file text NOT NULL, source_row bigint NOT NULL, raw_text text NOT NULL, reason text NOT NULL,
            rejected_at text NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS firn_streams (
            name text PRIMARY KEY, table_name text NOT NULL, "offset" bigint NOT NULL, updated_at text NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS firn_leases (name text PRIMARY KEY, holder text NOT NULL, expires_at text NOT NULL)
        """,
    ]

    /// Version 2: per entity, the count of committed transactions that changed its tables
    /// (`epoch`), of those by manual DML (`manual`), and `manual` as of the stream's last
    /// consumption (`consumed`); see `PostgresWarehouse+KeyStates`.
    static let epochTable = """
        CREATE TABLE IF NOT EXISTS firn_epochs (entity text PRIMARY KEY, epoch bigint NOT NULL,
            manual bigint NOT NULL, consumed bigint NOT NULL)
        """

    /// The keys each chunk's transaction changed, by its count in `firn_epochs`, for the last
    /// ``PostgresWarehouse/epochKeysKept`` counts (see `PostgresWarehouse+KeyStates.swift`);
    /// stored uncompressed (migration 4), as compressing them cost more than writing them.
    static let epochKeysTable = """
        CREATE TABLE IF NOT EXISTS firn_epoch_keys (entity text NOT NULL, epoch bigint NOT NULL, keys bytea NOT NULL,
            PRIMARY KEY (entity, epoch))
        """

    /// SCD1's fill factor: every batch rewrites many of its rows, and the room left in each
    /// page lets an update write the new row beside the old one without touching the key's
    /// index (a HOT update).
    static let currentFillFactor = 75

    /// The late records (``LateRecord``), by key; idempotent. Warehouses made before they
    /// were kept get the table when the entity opens.
    var lateTableStatements: [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(late) (
                \(definitions(entity.keyColumns, notNull: true).joined(separator: ", ")), \(eventTime) text NOT NULL,
                \(op) text NOT NULL, load_id bigint NOT NULL, source_row bigint NOT NULL, latest_before text NOT NULL,
                PRIMARY KEY (\(keyList), load_id, source_row))
            """
        ]
    }

    /// The entity's tables, view and triggers; idempotent.
    var creationStatements: [String] {
        let keyDefinitions = definitions(entity.keyColumns, notNull: true)
        let attributeDefinitions = definitions(entity.attributeColumns)
        let keyedIndex = entity.name.suffixed("_history_by_key").quoted
        var statements =
            [
                """
                CREATE TABLE IF NOT EXISTS \(raw) (
                    load_id bigint NOT NULL, source_row bigint NOT NULL,
                    \((definitions(entity.keyColumns) + attributeDefinitions).joined(separator: ", ")),
                    \(eventTime) text NOT NULL, \(op) text NOT NULL, source_file text NOT NULL, loaded_at text NOT NULL)
                """,
                """
                CREATE TABLE IF NOT EXISTS \(unchanged) (
                    \(keyDefinitions.joined(separator: ", ")), \(eventTime) text NOT NULL, \(op) text NOT NULL,
                    \(attributeDefinitions.map { $0 + ", " }.joined())chunk_id bigint NOT NULL, source_row bigint NOT NULL,
                    PRIMARY KEY (\(keyList), \(eventTime)))
                """,
                """
                CREATE TABLE IF NOT EXISTS \(current) (
                    \((keyDefinitions + attributeDefinitions).joined(separator: ", ")), \(eventTime) text,
                    PRIMARY KEY (\(keyList))) WITH (fillfactor = \(Self.currentFillFactor))
                """,
                """
                CREATE TABLE IF NOT EXISTS \(closed) (
                    \((keyDefinitions + attributeDefinitions).joined(separator: ", ")),
                    start_time text NOT NULL, end_time text NOT NULL)
                """,
                "CREATE INDEX IF NOT EXISTS \(keyedIndex) ON \(closed) (\(keyList))",
                """
                CREATE TABLE IF NOT EXISTS \(beforeDML) (
                    \((keyDefinitions + attributeDefinitions).joined(separator: ", ")), \(eventTime) text,
                    _firn_absent bigint NOT NULL, PRIMARY KEY (\(keyList)))
                """,
                "CREATE OR REPLACE VIEW \(history) AS " + historyView,
            ] + lateTableStatements + [
                """
                CREATE TABLE IF NOT EXISTS \(changes) (
                    seq bigserial PRIMARY KEY, action text NOT NULL, changed_at text NOT NULL,
                    \((definitions(imageColumns, prefix: "old_") + definitions(imageColumns, prefix: "new_"))
                    .joined(separator: ", ")))
                """
            ]
        statements += triggerStatements
        statements += epochStatements
        statements.append(
            "INSERT INTO firn_streams (name, table_name, \"offset\", updated_at) VALUES "
                + "('\(entity.streamName.normalized)', '\(entity.currentTable.normalized)', 0, \(Self.nowSQL)) "
                + "ON CONFLICT (name) DO NOTHING"
        )
        return statements
    }

    /// Closed versions, then SCD1's rows as open versions, except those of keys that manual DML
    /// has changed since the stream was consumed, whose rows as history had them are saved;
    /// under `deletes: record`, deleted spans too.
    var historyView: String {
        versions(live: notDeletedColumn(integer: "::bigint")) + deletedSpansArm(integer: "::bigint", text: "::text")
    }

    /// The view's versions alone (what `as-of` reads): `live` ends each arm's columns.
    func versions(live: String) -> String {
        """
        SELECT \(keyList), \(attributesThenComma)start_time, end_time, 0::bigint AS is_current\(live) FROM \(closed)
        UNION ALL
        SELECT \(keyList), \(attributesThenComma)\(eventTime) AS start_time, \(openEndInView)::text AS end_time,
            1::bigint AS is_current\(live)
        FROM \(current) AS c WHERE NOT EXISTS (SELECT 1 FROM \(beforeDML) AS b WHERE \(keysEqual("b", "c")))
        UNION ALL
        SELECT \(keyList), \(attributesThenComma)\(eventTime), \(openEndInView)::text, 1::bigint\(live) FROM \(beforeDML)
        WHERE _firn_absent = 0
        """
    }

    /// The stream's trigger on SCD1 (PL/pgSQL), which fires for changes the pipeline did not
    /// make (the pipeline's transactions set `firn.origin` to `pipeline`, for themselves only):
    /// it logs the change, and saves the key's row as it was before its first such change
    /// (`OLD` of its first update or delete; a key whose first such change inserted it is
    /// marked absent). Its `WHEN` clause skips the pipeline's rows without calling PL/pgSQL or
    /// queueing an event per row.
    ///
    /// It is an `AFTER` trigger only: a `BEFORE UPDATE` or `BEFORE DELETE` row trigger makes
    /// PostgreSQL lock every row before updating it, whatever its `WHEN` clause says, which
    /// costs the pipeline's set-based updates of SCD1 a third more time and half again the WAL.
    /// Without a `BEFORE INSERT` row trigger, `COPY` into SCD1 inserts rows in batches.
    var triggerStatements: [String] {
        let images = imageColumns
        let oldNames = images.map { Identifier(stringLiteral: "old_" + $0.name.normalized).quoted }
        let newNames = images.map { Identifier(stringLiteral: "new_" + $0.name.normalized).quoted }
        let rowColumns = (keys + attributes + [eventTime]).joined(separator: ", ")
        let function = entity.name.suffixed("_stream_capture").quoted
        let saveFunction = entity.name.suffixed("_stream_save").quoted
        func unsaved(_ image: String) -> String {
            "NOT EXISTS (SELECT 1 FROM \(beforeDML) b WHERE \(keys.map { "b.\($0) = \(image).\($0)" }.joined(separator: " AND ")))"
        }
        let oldRow = (keys + attributes + [eventTime]).map { "OLD.\($0)" }.joined(separator: ", ")
        let saveOld =
            "INSERT INTO \(beforeDML) (\(rowColumns), _firn_absent) SELECT \(oldRow), 0 WHERE \(unsaved("OLD"));"
        func markAbsent(_ image: String) -> String {
            "INSERT INTO \(beforeDML) (\(keyList), _firn_absent) SELECT "
                + keys.map { "\(image).\($0)" }.joined(separator: ", ") + ", 1 WHERE \(unsaved(image));"
        }
        let manual = Self.notThePipeline
        return [
            // Row events fire in the order the rows changed, so a key's first change is saved
            // first: an update's old key before its new one, a delete before a later insert.
            """
            CREATE OR REPLACE FUNCTION \(function)() RETURNS trigger LANGUAGE plpgsql AS $firn$
            BEGIN
                IF NOT (\(manual)) THEN RETURN NULL; END IF;
                IF TG_OP IN ('UPDATE', 'DELETE') THEN \(saveOld) END IF;
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO \(changes) (action, changed_at, \(newNames.joined(separator: ", ")))
                    VALUES ('INSERT', \(Self.nowSQL), \(images.map { "NEW.\($0.name.quoted)" }.joined(separator: ", ")));
                    \(markAbsent("NEW"))
                ELSIF TG_OP = 'UPDATE' THEN
                    INSERT INTO \(changes) (action, changed_at, \((oldNames + newNames).joined(separator: ", ")))
                    VALUES ('UPDATE', \(Self.nowSQL), \((images.map { "OLD.\($0.name.quoted)" } + images.map { "NEW.\($0.name.quoted)" }).joined(separator: ", ")));
                    \(markAbsent("NEW"))
                ELSE
                    INSERT INTO \(changes) (action, changed_at, \(oldNames.joined(separator: ", ")))
                    VALUES ('DELETE', \(Self.nowSQL), \(images.map { "OLD.\($0.name.quoted)" }.joined(separator: ", ")));
                END IF;
                RETURN NULL;
            END
            $firn$
            """,
            // The saving BEFORE trigger of entities made before the saving moved here.
            "DROP TRIGGER IF EXISTS \(entity.name.suffixed("_stream_save").quoted) ON \(current)",
            "DROP FUNCTION IF EXISTS \(saveFunction)()",
            "DROP TRIGGER IF EXISTS \(entity.name.suffixed("_stream_capture").quoted) ON \(current)",
            """
            CREATE TRIGGER \(entity.name.suffixed("_stream_capture").quoted) AFTER INSERT OR UPDATE OR DELETE
            ON \(current) FOR EACH ROW WHEN (\(manual)) EXECUTE FUNCTION \(function)()
            """,
        ]
    }

    /// What every writer of the entity's tables other than the pipeline's chunks does first, by
    /// statement triggers on SCD1, closed history and unchanged records: take the apply lock,
    /// then count the change in `firn_epochs` (so a worker's remembered key states are dropped,
    /// see ``PostgresWarehouse``). `TRUNCATE` of SCD1 is refused: no row trigger fires for it,
    /// so history would never see it. Idempotent; the epoch row is made if missing.
    var epochStatements: [String] {
        let manual = Self.notThePipeline
        let lockFunction = entity.name.suffixed("_stream_lock").quoted
        let epochTrigger = entity.name.suffixed("_epoch").quoted
        var statements = [
            // Manual DML waits for chunks being applied, and they for it: a chunk reads SCD1 and
            // writes it back, so a row changed in between would be lost. Taken per statement,
            // before any row is locked, so the two never wait for each other's rows.
            """
            CREATE OR REPLACE FUNCTION \(lockFunction)() RETURNS trigger LANGUAGE plpgsql AS $firn$
            BEGIN
                IF \(manual) THEN
                    IF TG_OP = 'TRUNCATE' AND TG_TABLE_NAME = '\(entity.currentTable.normalized)' THEN
                        RAISE EXCEPTION 'TRUNCATE of % would bypass its history (no row triggers fire); use DELETE',
                            TG_TABLE_NAME;
                    END IF;
                    PERFORM pg_advisory_xact_lock(\(applyLock));
                    UPDATE firn_epochs SET epoch = epoch + 1, manual = manual + 1
                    WHERE entity = '\(entity.name.normalized)';
                END IF;
                RETURN NULL;
            END
            $firn$
            """,
            "DROP TRIGGER IF EXISTS \(entity.name.suffixed("_stream_lock").quoted) ON \(current)",
            """
            CREATE TRIGGER \(entity.name.suffixed("_stream_lock").quoted) BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
            ON \(current) FOR EACH STATEMENT EXECUTE FUNCTION \(lockFunction)()
            """,
        ]
        for table in [closed, unchanged] {
            statements.append("DROP TRIGGER IF EXISTS \(epochTrigger) ON \(table)")
            statements.append(
                """
                CREATE TRIGGER \(epochTrigger) BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
                ON \(table) FOR EACH STATEMENT EXECUTE FUNCTION \(lockFunction)()
                """
            )
        }
        // `manual` starts ahead of `consumed`: an entity made before version 2 may have changes waiting.
        statements.append(
            "INSERT INTO firn_epochs (entity, epoch, manual, consumed) VALUES ('\(entity.name.normalized)', 0, 1, 0) "
                + "ON CONFLICT DO NOTHING"
        )
        return statements
    }

    // MARK: Statements used while applying a batch

    /// Staging's columns, in the order a COPY row is written.
    var rawColumns: [String] {
        ["load_id", "source_row"] + entity.keyColumns.map(\.name.normalized)
            + entity.attributeColumns.map(\.name.normalized)
            + [entity.eventTimeColumn.normalized, entity.operationColumn.normalized, "source_file", "loaded_at"]
    }

    /// The SQL array type of each key column, for `unnest`.
    var keyArrayTypes: [String] { entity.keyColumns.map { Self.sqlType($0.type) + "[]" } }

    /// A key's versions ending at or after `$n` (after the key's parameters), or open, by start.
    func versionsEndingFrom() -> String {
        let count = keys.count
        return "SELECT \(attributesThenComma)start_time, end_time FROM \(closed) WHERE \(keyMatch(from: 1)) "
            + "AND end_time >= $\(count + 1) UNION ALL SELECT \(attributesThenComma)\(eventTime), \(Self.openEndSQL)::text "
            + "FROM \(current) WHERE \(keyMatch(from: 1)) ORDER BY \(attributes.count + 1)"
    }

    /// A key's unchanged records at or after `$n` (after the key's parameters).
    func unchangedRecordsFrom() -> String {
        "SELECT \(attributesThenComma)\(eventTime), \(op), chunk_id, source_row FROM \(unchanged) "
            + "WHERE \(keyMatch(from: 1)) AND \(eventTime) >= $\(keys.count + 1)"
    }
}
