import FirnCore
import FirnWarehouse
import Logging
import PostgresNIO

extension PostgresWarehouse {
    /// Widens attributes' types inside the caller's transaction (which holds the apply lock),
    /// converting their values, and returns the shape after (see
    /// ``Warehouse/widenAttributes(_:file:)``).
    ///
    /// A column whose storage changes (an integer or boolean one, `bigint`, becoming text) is
    /// altered in every table that has it (`ALTER COLUMN … TYPE text USING …`, which rewrites
    /// the table); the history view names every column, so it is dropped and made again, and
    /// the stream's trigger functions are made again.
    static func widenAttributes(
        _ columns: [FirnCore.Column],
        _ connection: PostgresConnection,
        file: String,
        configured: EntityConfiguration,
        applyLock: Int64,
        logger: Logger
    ) async throws -> PostgresShape {
        let before = try await currentShape(connection, configured: configured, applyLock: applyLock, logger: logger)
        let (wider, changed) = try EntityShape.widening(columns, of: before.schema.entity)
        guard !changed.isEmpty else { return before }
        let old = before.schema
        let new = PostgresSchema(entity: wider, applyLock: applyLock)
        try await connection.execute("DROP VIEW IF EXISTS \(old.history)", logger: logger)
        for (column, from) in changed where PostgresSchema.sqlType(from) != PostgresSchema.sqlType(column.type) {
            func converted(_ name: String) -> String {
                from == .boolean
                    ? "TYPE text USING CASE WHEN \(name) IS NULL THEN NULL WHEN \(name) = 0 THEN 'false' ELSE 'true' END"
                    : "TYPE text USING \(name)::text"
            }
            let name = column.name.quoted
            for table in [old.raw, old.unchanged, old.current, old.closed, old.beforeDML] {
                try await connection.execute(
                    "ALTER TABLE \(table) ALTER COLUMN \(name) \(converted(name))",
                    logger: logger
                )
            }
            let images = ["old_", "new_"].map { Identifier(stringLiteral: $0 + column.name.normalized).quoted }
                .map { "ALTER COLUMN \($0) \(converted($0))" }
            try await connection.execute("ALTER TABLE \(old.changes) \(images.joined(separator: ", "))", logger: logger)
        }
        for statement in new.triggerStatements { try await connection.execute(statement, logger: logger) }
        try await connection.execute("CREATE VIEW \(new.history) AS " + new.historyView, logger: logger)
        let version = try await record(
            .widened,
            changed.map(\.column),
            connection,
            after: before.version,
            file: file,
            configured: configured,
            logger: logger
        )
        return PostgresShape(schema: new, version: version)
    }

    public func widenAttributes(
        _ columns: [FirnCore.Column],
        file: String
    ) async throws(WarehouseError) -> EntityConfiguration {
        let (configured, applyLock, logger) = (self.configured, self.applyLock, self.logger)
        return try await changingShape { connection in
            try await Self.widenAttributes(
                columns,
                connection,
                file: file,
                configured: configured,
                applyLock: applyLock,
                logger: logger
            )
        }
    }
}
