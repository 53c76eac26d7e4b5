import FirnCore
import FirnWarehouse
import Foundation
import GRDB

/// The entity's shape on SQLite: its tables and statements, and how many attributes schema
/// history says were added (its version), which tells a writer that another process added some.
struct Shape: Sendable {
    var schema: EntitySchema
    var version: Int
}

extension SQLiteWarehouse {
    /// Schema history: one row per attribute added to an entity, numbered per entity.
    static let schemaHistoryTable = """
        CREATE TABLE IF NOT EXISTS firn_schema_history (
            entity TEXT NOT NULL,
            version INTEGER NOT NULL,
            change TEXT NOT NULL,
            column_name TEXT NOT NULL,
            column_type TEXT NOT NULL,
            file_name TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            PRIMARY KEY (entity, version)
        )
        """

    /// The entity's shape version: the number of its changes in schema history.
    static func shapeVersion(_ db: Database, entity: EntityConfiguration) throws -> Int {
        // Asked in every apply transaction: a cached statement.
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT COALESCE(max(version), 0) FROM firn_schema_history WHERE entity = ?"),
            arguments: [entity.name.normalized]
        ) ?? 0
    }

    /// The entity's schema history, oldest first (none before the table exists).
    static func changes(_ db: Database, configured: EntityConfiguration) throws -> [SchemaChange] {
        guard try db.tableExists("firn_schema_history") else { return [] }
        let rows = try Row.fetchAll(
            db,
            sql: "SELECT version, change, column_name, column_type, file_name, changed_at FROM firn_schema_history "
                + "WHERE entity = ? ORDER BY version",
            arguments: [configured.name.normalized]
        )
        return try SchemaChange.changes(
            of: configured,
            rows: rows.map { row in (row[0], row[1], row[2], row[3], row[4], row[5]) }
        )
    }

    /// The entity as it is now: the configured one with the attributes added since that it does
    /// not declare, and the types widened since.
    static func currentShape(_ db: Database, configured: EntityConfiguration) throws -> Shape {
        let evolution = EntityEvolution(try changes(db, configured: configured))
        let entity = try EntityShape.current(configured: configured, evolution: evolution)
        return Shape(schema: EntitySchema(entity: entity), version: try shapeVersion(db, entity: configured))
    }

    /// Adds the attributes the entity lacks to its tables and schema history, inside the
    /// caller's write transaction, and returns the shape after.
    ///
    /// Attributes already there (another process added them) are left as they are. The stream's
    /// triggers and the history view name every column, so they are made again.
    static func addAttributes(
        _ columns: [FirnCore.Column],
        _ db: Database,
        file: String,
        configured: EntityConfiguration
    ) throws -> Shape {
        let before = try currentShape(db, configured: configured)
        let present = Set(try db.columns(in: before.schema.entity.currentTable.normalized).map { $0.name.lowercased() })
        guard let (fresh, grown) = try EntityShape.adding(columns, to: before.schema.entity, present: present) else {
            return before
        }
        let old = before.schema
        let new = EntitySchema(entity: grown)
        for statement in old.dropTriggerStatements { try db.execute(sql: statement) }
        try db.execute(sql: "DROP VIEW IF EXISTS \(old.history)")
        for column in fresh {
            let definition = "\(column.name.quoted) \(EntitySchema.sqlType(column.type))"
            for table in [old.raw, old.unchanged, old.current, old.closed, old.beforeDML] {
                try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN \(definition)")
            }
            for prefix in ["old_", "new_"] {
                let image = Identifier(stringLiteral: prefix + column.name.normalized).quoted
                try db.execute(
                    sql: "ALTER TABLE \(old.changes) ADD COLUMN \(image) \(EntitySchema.sqlType(column.type))"
                )
            }
        }
        for statement in new.triggerStatements { try db.execute(sql: statement) }
        try db.execute(sql: "CREATE VIEW \(new.history) AS " + new.historyView)
        let version = try record(.added, fresh, db, after: before.version, file: file, configured: configured)
        return Shape(schema: new, version: version)
    }

    /// Records changes of the entity's shape in schema history, numbered on from `version`;
    /// returns the last number.
    static func record(
        _ kind: SchemaChange.Kind,
        _ columns: [FirnCore.Column],
        _ db: Database,
        after version: Int,
        file: String,
        configured: EntityConfiguration
    ) throws -> Int {
        var version = version
        let now = nowText()
        for column in columns {
            version += 1
            try db.execute(
                sql: """
                    INSERT INTO firn_schema_history (entity, version, change, column_name, column_type, file_name, changed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    configured.name.normalized, version, kind.rawValue, column.name.normalized, column.type.rawValue,
                    file, now,
                ]
            )
        }
        return version
    }

    /// Adds attributes in one write transaction (see ``Warehouse/addAttributes(_:file:)``).
    func addAttributes(_ columns: [FirnCore.Column], file: String) throws(WarehouseError) -> EntityConfiguration {
        let configured = self.configured
        let shape = self.shape
        let cache = keyStates
        return try write { db in
            let after = try SQLiteWarehouse.addAttributes(columns, db, file: file, configured: configured)
            shape.withLock { $0 = after }
            // What it remembers of open versions lacks the new attributes.
            cache.clear()
            return after.schema.entity
        }
    }

    /// The entity's schema history, oldest first.
    func schemaHistory() throws(WarehouseError) -> [SchemaChange] {
        let configured = self.configured
        return try read { db in try SQLiteWarehouse.changes(db, configured: configured) }
    }
}

extension EntitySchema {
    /// Drops the stream's triggers (to make them again over other columns).
    var dropTriggerStatements: [String] {
        ["insert", "update", "delete"].flatMap { event in
            ["_save_", "_stream_"].map { "DROP TRIGGER IF EXISTS \(entity.name.suffixed($0 + event).quoted)" }
        }
    }

    /// Checks the warehouse's definition of the configured entity (recording it when the entity
    /// is new) and combines it with the attributes added since (``EntityShape``).
    ///
    /// - Returns: The entity to work with, and the configured attributes the tables lack.
    /// - Throws: ``WarehouseError/schemaMismatch(table:reason:)`` saying what changed.
    static func reconcile(
        _ db: Database,
        configured: EntityConfiguration
    ) throws -> (entity: EntityConfiguration, toAdd: [FirnCore.Column]) {
        let schema = EntitySchema(entity: configured)
        guard let stored = try schema.storedDefinition(db) else {
            try schema.checkDefinition(db)
            return (configured, [])
        }
        return try EntityShape.reconcile(
            configured: configured,
            stored: stored,
            evolution: EntityEvolution(try SQLiteWarehouse.changes(db, configured: configured))
        )
    }
}
