import FirnCore
import FirnWarehouse
import GRDB

/// The SQLite warehouse's schema versions: ordered migrations, each idempotent, recorded in
/// `firn_schema_versions` as they are applied.
///
/// Opening a warehouse applies, in one immediate transaction, every migration past the
/// highest version recorded, then records them. Each migration checks what is already there,
/// so a warehouse written before versions were recorded (it has no rows) moves through the
/// same steps and ends in the same state. A warehouse whose version is past the last one here
/// was written by a newer Firn and is refused (``WarehouseError/newerSchema(location:version:known:)``).
enum SQLiteMigrations {
    /// One step from one schema version to the next.
    struct Migration: Sendable {
        /// The version it brings the warehouse to.
        var version: Int
        /// What it does, as recorded in `firn_schema_versions`.
        var description: String
        /// Applies it; must be idempotent.
        var apply: @Sendable (Database, EntitySchema) throws -> Void
    }

    /// Every migration, in order.
    static let all: [Migration] = [
        Migration(version: 1, description: "Firn's tables and the entity's tables, views and triggers") { db, schema in
            // A warehouse written before closed versions were kept apart moves over.
            let moves = try Bool.fetchOne(db, sql: schema.historyIsTable) == true
            if moves { for statement in schema.migrationBeforeCreation { try db.execute(sql: statement) } }
            for statement in EntitySchema.sharedStatements + schema.creationStatements {
                try db.execute(sql: statement)
            }
            if moves { for statement in schema.migrationAfterCreation { try db.execute(sql: statement) } }
        },
        Migration(version: 2, description: "load history keeps each load's warnings") { db, _ in
            let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('firn_loads')")
            if !columns.contains("warnings") { try db.execute(sql: "ALTER TABLE firn_loads ADD COLUMN warnings TEXT") }
        },
        Migration(version: 3, description: "leases, so one process at a time runs the task scheduler") { db, _ in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS firn_leases (
                        name TEXT PRIMARY KEY,
                        holder TEXT NOT NULL,
                        expires_at TEXT NOT NULL
                    )
                    """
            )
        },
        Migration(version: 4, description: "workers' heartbeats, for firn status") { db, _ in
            try db.execute(sql: SQLiteWarehouse.workersTable)
        },
        Migration(version: 5, description: "load history keeps when each file landed, for freshness") { db, _ in
            let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('firn_loads')")
            if !columns.contains("landed_at") { try db.execute(sql: "ALTER TABLE firn_loads ADD COLUMN landed_at TEXT") }
        },
        Migration(version: 6, description: "each entity keeps its late records by key, for its history's timeline") {
            db,
            schema in
            try db.execute(sql: schema.lateTable)
        },
        Migration(version: 7, description: "schema history: the attributes schema evolution adds to each entity") { db, _ in
            try db.execute(sql: SQLiteWarehouse.schemaHistoryTable)
        },
    ]

    /// The version a warehouse is at once every migration is applied.
    static var latest: Int { all.last!.version }

    /// Applies the migrations the warehouse lacks, inside the caller's transaction.
    ///
    /// - Throws: ``WarehouseError/newerSchema(location:version:known:)``, or what a migration threw.
    static func migrate(_ db: Database, schema: EntitySchema, location: String) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS firn_schema_versions (
                    version INTEGER PRIMARY KEY,
                    description TEXT NOT NULL,
                    applied_at TEXT NOT NULL
                )
                """
        )
        let current = try Int.fetchOne(db, sql: "SELECT COALESCE(max(version), 0) FROM firn_schema_versions") ?? 0
        guard current <= latest else {
            throw WarehouseError.newerSchema(location: location, version: current, known: latest)
        }
        for migration in all where migration.version > current {
            try migration.apply(db, schema)
            try db.execute(
                sql: "INSERT INTO firn_schema_versions (version, description, applied_at) VALUES (?, ?, ?)",
                arguments: [migration.version, migration.description, Timestamp.now().description]
            )
        }
        // The entity's tables are made on every open: a warehouse shared by entities gains
        // each one's tables when that entity first opens it (all statements are idempotent).
        if current >= 1 {
            for statement in schema.creationStatements { try db.execute(sql: statement) }
        }
        try schema.matchHistoryView(db)
    }
}
