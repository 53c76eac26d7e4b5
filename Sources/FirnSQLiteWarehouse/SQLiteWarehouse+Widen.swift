import FirnCore
import FirnWarehouse
import Foundation
import GRDB

extension SQLiteWarehouse {
    /// Widens attributes' types inside the caller's write transaction, converting their values,
    /// and returns the shape after (see ``Warehouse/widenAttributes(_:file:)``).
    ///
    /// SQLite cannot change a column's declared type, and the declared type decides what a
    /// value turns into as it is stored (an `INTEGER` column would store the text `5` as the
    /// integer 5). So a column whose storage changes (an integer or boolean one becoming text)
    /// has its declared type edited in the schema (`PRAGMA writable_schema`, the procedure
    /// SQLite documents for changes that leave the stored records readable, with the schema
    /// version raised so every connection reads the schema again), then its values are
    /// converted with an `UPDATE`. Both happen in the one transaction: a crash leaves either.
    static func widenAttributes(
        _ columns: [FirnCore.Column],
        _ db: Database,
        file: String,
        configured: EntityConfiguration
    ) throws -> Shape {
        let before = try currentShape(db, configured: configured)
        let (wider, changed) = try EntityShape.widening(columns, of: before.schema.entity)
        guard !changed.isEmpty else { return before }
        let old = before.schema
        let new = EntitySchema(entity: wider)
        for statement in old.dropTriggerStatements { try db.execute(sql: statement) }
        try db.execute(sql: "DROP VIEW IF EXISTS \(old.history)")
        let retyped = changed.filter { EntitySchema.sqlType($0.from) != EntitySchema.sqlType($0.column.type) }
        if !retyped.isEmpty {
            try redeclare(retyped.map(\.column), old: old, db)
            for (column, from) in retyped {
                let name = column.name.quoted
                let converted: String =
                    from == .boolean
                    ? "CASE %@ WHEN 0 THEN 'false' ELSE 'true' END" : "CAST(%@ AS TEXT)"
                let images = ["old_", "new_"].map { Identifier(stringLiteral: $0 + column.name.normalized).quoted }
                for table in [old.raw, old.unchanged, old.current, old.closed, old.beforeDML] {
                    try db.execute(
                        sql: "UPDATE \(table) SET \(name) = \(converted.replacingOccurrences(of: "%@", with: name)) "
                            + "WHERE typeof(\(name)) = 'integer'"
                    )
                }
                for image in images {
                    try db.execute(
                        sql:
                            "UPDATE \(old.changes) SET \(image) = \(converted.replacingOccurrences(of: "%@", with: image)) "
                            + "WHERE typeof(\(image)) = 'integer'"
                    )
                }
            }
        }
        for statement in new.triggerStatements { try db.execute(sql: statement) }
        try db.execute(sql: "CREATE VIEW \(new.history) AS " + new.historyView)
        let version = try record(
            .widened,
            changed.map(\.column),
            db,
            after: before.version,
            file: file,
            configured: configured
        )
        return Shape(schema: new, version: version)
    }

    /// Declares `columns` (each an attribute, and the change log's `old_` and `new_` images
    /// of it) `TEXT` in every table of the entity that has them, by editing the schema.
    private static func redeclare(_ columns: [FirnCore.Column], old: EntitySchema, _ db: Database) throws {
        let tables = [
            old.entity.rawTable, old.entity.unchangedTable, old.entity.currentTable, old.entity.closedHistoryTable,
            old.entity.beforeDMLTable,
        ].map(\.normalized)
        let schemaVersion = try Int.fetchOne(db, sql: "PRAGMA schema_version") ?? 0
        try db.execute(sql: "PRAGMA writable_schema = ON")
        var edits: [(table: String, column: String)] = []
        for column in columns {
            edits += tables.map { ($0, column.name.normalized) }
            edits += ["old_", "new_"].map { (old.entity.changesTable.normalized, $0 + column.name.normalized) }
        }
        for (table, column) in edits {
            let declared = Identifier(stringLiteral: column).quoted
            try db.execute(
                sql: "UPDATE sqlite_schema SET sql = replace(sql, ?, ?) WHERE type = 'table' AND lower(name) = ?",
                arguments: ["\(declared) INTEGER", "\(declared) TEXT", table]
            )
        }
        try db.execute(sql: "PRAGMA schema_version = \(schemaVersion + 1)")
        try db.execute(sql: "PRAGMA writable_schema = RESET")
        // The edit is a text replacement: check that each column really is TEXT now.
        for (table, column) in edits {
            let declared = try String.fetchOne(
                db,
                sql: "SELECT type FROM pragma_table_info(?) WHERE lower(name) = ?",
                arguments: [table, column]
            )
            guard declared?.uppercased() == "TEXT" else {
                throw WarehouseError.schemaMismatch(
                    table: table,
                    reason: "column \(column) is still declared \(declared ?? "(missing)"), not TEXT: SQLite did not "
                        + "take the schema edit that widens it (a connection in defensive mode, or a table not as Firn "
                        + "made it); nothing was changed"
                )
            }
        }
    }

    /// Widens attributes in one write transaction (see ``Warehouse/widenAttributes(_:file:)``).
    func widenAttributes(_ columns: [FirnCore.Column], file: String) throws(WarehouseError) -> EntityConfiguration {
        let configured = self.configured
        let shape = self.shape
        let cache = keyStates
        return try write { db in
            let after = try SQLiteWarehouse.widenAttributes(columns, db, file: file, configured: configured)
            shape.withLock { $0 = after }
            // What it remembers of open versions holds values of the narrower types.
            cache.clear()
            return after.schema.entity
        }
    }
}
