import FirnCore
import FirnWarehouse
import Foundation
import PostgresNIO

/// Schema versions on PostgreSQL: ordered migrations, each idempotent, recorded in
/// `firn_schema_versions` of the warehouse's schema, applied in one transaction under an
/// advisory lock, so workers that open the warehouse at once apply each exactly once.
extension PostgresWarehouse {
    /// Every migration, in order: its version and what it does.
    static let migrations: [(version: Int, description: String, statements: [String])] = [
        (
            1, "Firn's tables: load history, chunks, rejects, streams, tasks, pipe objects, leases",
            PostgresSchema.sharedStatements
        ),
        (
            2, "firn_epochs: changes to each entity's tables made by other writers than its chunks",
            [PostgresSchema.epochTable]
        ),
        (3, "workers' heartbeats, for firn status", [PostgresWarehouse.workersTable]),
        (
            4, "firn_epoch_keys: the keys each chunk changed, so other workers keep their other key states",
            [PostgresSchema.epochKeysTable, "ALTER TABLE firn_epoch_keys ALTER COLUMN keys SET STORAGE EXTERNAL"]
        ),
        (
            5, "load history keeps when each file landed, for freshness",
            ["ALTER TABLE firn_loads ADD COLUMN IF NOT EXISTS landed_at text"]
        ),
        // The tables are the entity's: made as each entity opens (below).
        (6, "each entity keeps its late records by key, for its history's timeline", []),
        (
            7, "schema history: the attributes schema evolution adds to each entity",
            [PostgresWarehouse.schemaHistoryTable]
        ),
    ]

    /// The version a warehouse is at once every migration is applied.
    static var latestVersion: Int { migrations.last!.version }

    /// Applies the migrations the schema lacks, checks (or records) the entity's definition and
    /// makes its tables when it is new.
    func migrate() async throws(WarehouseError) {
        let logger = self.logger
        let configured = self.configured
        let shape = self.shape
        let applyLock = self.applyLock
        let location = self.location
        let lock = Self.lockKey("migrate:\(server.schema)")
        // First the migrations and a new entity's tables, under the schema's migrate lock; then,
        // for an entity made before, its shape and view under its own apply lock alone, so an
        // open waiting for another writer's turn holds up no other entity's opens.
        let stored: StoredEntityDefinition? = try await transaction { connection in
            var binds = PostgresBindings()
            binds.append(lock)
            try await connection.execute("SELECT pg_advisory_xact_lock($1)", binds, logger: logger)
            try await connection.execute(
                """
                CREATE TABLE IF NOT EXISTS firn_schema_versions (
                    version bigint PRIMARY KEY, description text NOT NULL, applied_at text NOT NULL)
                """,
                logger: logger
            )
            let current =
                try await connection.rows(
                    "SELECT COALESCE(max(version), 0) FROM firn_schema_versions",
                    logger: logger
                ).first?.decode(Int64.self) ?? 0
            guard current <= Int64(Self.latestVersion) else {
                throw WarehouseError.newerSchema(location: location, version: Int(current), known: Self.latestVersion)
            }
            for migration in Self.migrations where migration.version > current {
                for statement in migration.statements { try await connection.execute(statement, logger: logger) }
                var binds = PostgresBindings()
                binds.append(Int64(migration.version))
                binds.append(migration.description)
                try await connection.execute(
                    "INSERT INTO firn_schema_versions (version, description, applied_at) VALUES ($1, $2, \(PostgresSchema.nowSQL))",
                    binds,
                    logger: logger
                )
            }
            // The entity: its recorded definition must be this one, but for attributes added
            // since; a new one gets its tables.
            let mine = StoredEntityDefinition(configured)
            var name = PostgresBindings()
            name.append(configured.name.normalized)
            let stored = try await connection.rows(
                "SELECT definition FROM firn_entities WHERE name = $1",
                name,
                logger: logger
            ).first?.decode(String.self)
            if let stored {
                guard let definition = try? JSONDecoder().decode(StoredEntityDefinition.self, from: Data(stored.utf8))
                else {
                    throw WarehouseError.schemaMismatch(
                        table: configured.name.normalized,
                        reason: "firn_entities holds an unreadable definition"
                    )
                }
                return definition
            }
            let schema = PostgresSchema(entity: configured, applyLock: applyLock)
            for statement in schema.creationStatements { try await connection.execute(statement, logger: logger) }
            var record = PostgresBindings()
            record.append(configured.name.normalized)
            record.append(mine.json)
            try await connection.execute(
                "INSERT INTO firn_entities (name, definition, recorded_at) VALUES ($1, $2, \(PostgresSchema.nowSQL))",
                record,
                logger: logger
            )
            return nil
        }
        guard let definition = stored else { return }
        try await transaction { connection in
            var name = PostgresBindings()
            name.append(configured.name.normalized)
            // Another writer's schema change (a column added while it loads) drops and
            // makes the history view again: read the shape and the view only between them.
            var entityLock = PostgresBindings()
            entityLock.append(applyLock)
            try await connection.execute("SELECT pg_advisory_xact_lock($1)", entityLock, logger: logger)
            let (effective, toAdd) = try EntityShape.reconcile(
                configured: configured,
                stored: definition,
                evolution: EntityEvolution(try await Self.changes(connection, configured: configured, logger: logger))
            )
            var opened = PostgresShape(
                schema: PostgresSchema(entity: effective, applyLock: applyLock),
                version: try await Self.shapeVersion(connection, entity: configured, logger: logger)
            )
            if !toAdd.isEmpty {
                opened = try await Self.addAttributes(
                    toAdd,
                    connection,
                    file: SchemaChange.fromConfig,
                    configured: configured,
                    applyLock: applyLock,
                    logger: logger
                )
            }
            shape.withLock { $0 = opened }
            let entity = effective
            let schema = opened.schema
            for statement in schema.lateTableStatements { try await connection.execute(statement, logger: logger) }
            // The history view shows the open end and the deleted spans the entity asks for
            // now (they may change between runs: closed versions and SCD1 do not depend on
            // them). Leaving `deletes: record` drops a column, which only a new view can do
            // (and which fails while other views depend on it, saying so).
            var view = PostgresBindings()
            view.append(schema.history)
            if let definition = try await connection.rows(
                "SELECT pg_get_viewdef($1::regclass)",
                view,
                logger: logger
            ).first?.decode(String.self),
                schema.historyViewNeedsRedefinition(definition)
            {
                if PostgresSchema.historyViewShowsDeletedSpans(definition), entity.deletes == .close {
                    try await connection.execute("DROP VIEW \(schema.history)", logger: logger)
                }
                try await connection.execute(
                    "CREATE OR REPLACE VIEW \(schema.history) AS " + schema.historyView,
                    logger: logger
                )
            }
            // An entity made before version 2 gets its epoch row, the triggers that count, and
            // the stream's triggers as version 2 makes them.
            let counted =
                try await connection.rows(
                    "SELECT 1 FROM firn_epochs WHERE entity = $1",
                    name,
                    logger: logger
                ).first != nil
            if !counted {
                for statement in schema.triggerStatements + schema.epochStatements {
                    try await connection.execute(statement, logger: logger)
                }
                return
            }
            // An entity with a saving BEFORE trigger (it saved rows before they changed, and
            // once also fired on INSERT) gets the stream's trigger as it is now.
            var trigger = PostgresBindings()
            trigger.append(schema.current)
            trigger.append(entity.name.suffixed("_stream_save").normalized)
            let savesBefore =
                try await connection.rows(
                    "SELECT 1 FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2",
                    trigger,
                    logger: logger
                ).first != nil
            if savesBefore {
                for statement in schema.triggerStatements { try await connection.execute(statement, logger: logger) }
            }
        }
    }
}
