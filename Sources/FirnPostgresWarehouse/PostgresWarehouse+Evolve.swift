import FirnCore
import FirnWarehouse
import Foundation
import Logging
import PostgresNIO

/// The entity's shape on PostgreSQL: its tables and statements, and how many attributes schema
/// history says were added (its version), which tells a worker that another one added some.
struct PostgresShape: Sendable {
    var schema: PostgresSchema
    var version: Int
}

extension PostgresWarehouse {
    /// Schema history: one row per attribute added to an entity, numbered per entity.
    static let schemaHistoryTable = """
        CREATE TABLE IF NOT EXISTS firn_schema_history (
            entity text NOT NULL, version bigint NOT NULL, change text NOT NULL, column_name text NOT NULL,
            column_type text NOT NULL, file_name text NOT NULL, changed_at text NOT NULL,
            PRIMARY KEY (entity, version))
        """

    /// The entity's shape version: the number of its changes in schema history.
    static func shapeVersion(
        _ connection: PostgresConnection,
        entity: EntityConfiguration,
        logger: Logger
    ) async throws -> Int {
        var binds = PostgresBindings()
        binds.append(entity.name.normalized)
        let version =
            try await connection.rows(
                "SELECT COALESCE(max(version), 0) FROM firn_schema_history WHERE entity = $1",
                binds,
                logger: logger
            ).first?.decode(Int64.self) ?? 0
        return Int(version)
    }

    /// The entity's schema history, oldest first.
    static func changes(
        _ connection: PostgresConnection,
        configured: EntityConfiguration,
        logger: Logger
    ) async throws -> [SchemaChange] {
        var binds = PostgresBindings()
        binds.append(configured.name.normalized)
        var rows: [(version: Int, change: String, column: String, type: String, file: String, at: String)] = []
        for row in try await connection.rows(
            "SELECT version, change, column_name, column_type, file_name, changed_at FROM firn_schema_history "
                + "WHERE entity = $1 ORDER BY version",
            binds,
            logger: logger
        ) {
            let (version, change, column, type, file, at) = try row.decode(
                (Int64, String, String, String, String, String).self
            )
            rows.append((Int(version), change, column, type, file, at))
        }
        return try SchemaChange.changes(of: configured, rows: rows)
    }

    /// The entity as it is now: the configured one with the attributes added since that it does
    /// not declare, and the types widened since.
    static func currentShape(
        _ connection: PostgresConnection,
        configured: EntityConfiguration,
        applyLock: Int64,
        logger: Logger
    ) async throws -> PostgresShape {
        let evolution = EntityEvolution(try await changes(connection, configured: configured, logger: logger))
        let entity = try EntityShape.current(configured: configured, evolution: evolution)
        return PostgresShape(
            schema: PostgresSchema(entity: entity, applyLock: applyLock),
            version: try await shapeVersion(connection, entity: configured, logger: logger)
        )
    }

    /// Adds the attributes the entity lacks to its tables and schema history, inside the
    /// caller's transaction (which holds the apply lock), and returns the shape after.
    ///
    /// Attributes already there (another worker added them) are left as they are. The history
    /// view names every column, and a new one cannot go in the middle of a view's columns, so
    /// the view is dropped and made again (which fails while a user's view depends on it, saying
    /// so); the stream's trigger functions are made again.
    static func addAttributes(
        _ columns: [FirnCore.Column],
        _ connection: PostgresConnection,
        file: String,
        configured: EntityConfiguration,
        applyLock: Int64,
        logger: Logger
    ) async throws -> PostgresShape {
        let before = try await currentShape(connection, configured: configured, applyLock: applyLock, logger: logger)
        var table = PostgresBindings()
        table.append(before.schema.entity.currentTable.normalized)
        var present = Set<String>()
        for row in try await connection.rows(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
            table,
            logger: logger
        ) {
            present.insert(try row.decode(String.self).lowercased())
        }
        guard let (fresh, grown) = try EntityShape.adding(columns, to: before.schema.entity, present: present) else {
            return before
        }
        let old = before.schema
        let new = PostgresSchema(entity: grown, applyLock: applyLock)
        try await connection.execute("DROP VIEW IF EXISTS \(old.history)", logger: logger)
        for column in fresh {
            let type = PostgresSchema.sqlType(column.type)
            for table in [old.raw, old.unchanged, old.current, old.closed, old.beforeDML] {
                try await connection.execute(
                    "ALTER TABLE \(table) ADD COLUMN \(column.name.quoted) \(type)",
                    logger: logger
                )
            }
            let images = ["old_", "new_"].map {
                "ADD COLUMN \(Identifier(stringLiteral: $0 + column.name.normalized).quoted) \(type)"
            }
            try await connection.execute("ALTER TABLE \(old.changes) \(images.joined(separator: ", "))", logger: logger)
        }
        for statement in new.triggerStatements { try await connection.execute(statement, logger: logger) }
        try await connection.execute("CREATE VIEW \(new.history) AS " + new.historyView, logger: logger)
        let version = try await record(
            .added,
            fresh,
            connection,
            after: before.version,
            file: file,
            configured: configured,
            logger: logger
        )
        return PostgresShape(schema: new, version: version)
    }

    /// Records changes of the entity's shape in schema history, numbered on from `version`;
    /// returns the last number.
    static func record(
        _ kind: SchemaChange.Kind,
        _ columns: [FirnCore.Column],
        _ connection: PostgresConnection,
        after version: Int,
        file: String,
        configured: EntityConfiguration,
        logger: Logger
    ) async throws -> Int {
        var version = version
        for column in columns {
            version += 1
            var binds = PostgresBindings()
            binds.append(configured.name.normalized)
            binds.append(Int64(version))
            binds.append(kind.rawValue)
            binds.append(column.name.normalized)
            binds.append(column.type.rawValue)
            binds.append(file)
            try await connection.execute(
                """
                INSERT INTO firn_schema_history (entity, version, change, column_name, column_type, file_name, changed_at)
                VALUES ($1, $2, $3, $4, $5, $6, \(PostgresSchema.nowSQL))
                """,
                binds,
                logger: logger
            )
        }
        return version
    }

    /// Takes up attributes another worker added, inside an apply turn (which found schema
    /// history past this worker's shape version).
    func reloadShape(_ connection: PostgresConnection) async throws {
        let reloaded = try await Self.currentShape(
            connection,
            configured: configured,
            applyLock: applyLock,
            logger: logger
        )
        shape.withLock { $0 = reloaded }
    }

    /// Attempts at adding attributes before giving up, when chunks keep the tables locked.
    static let addAttempts = 200

    public func addAttributes(
        _ columns: [FirnCore.Column],
        file: String
    ) async throws(WarehouseError) -> EntityConfiguration {
        let (configured, applyLock, logger) = (self.configured, self.applyLock, self.logger)
        return try await changingShape { connection in
            try await Self.addAttributes(
                columns,
                connection,
                file: file,
                configured: configured,
                applyLock: applyLock,
                logger: logger
            )
        }
    }

    /// Runs a change of the entity's shape in a transaction that holds the apply lock, and
    /// takes up the shape it returns (forgetting the key states, whose values it may change).
    func changingShape(
        _ change: @escaping @Sendable (PostgresConnection) async throws -> PostgresShape
    ) async throws(WarehouseError) -> EntityConfiguration {
        let (applyLock, logger, shape, keyStates) = (self.applyLock, self.logger, self.shape, self.keyStates)
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await transaction { connection in
                    // No chunk holds the turn meanwhile. One that is staging while it waits for
                    // the turn holds staging's lock, which the change needs: rather than wait for
                    // it (each would wait for the other), give up the turn after a moment and try
                    // again.
                    try await connection.execute("SET LOCAL lock_timeout = '200ms'", logger: logger)
                    var lock = PostgresBindings()
                    lock.append(applyLock)
                    try await connection.execute("SELECT pg_advisory_xact_lock($1)", lock, logger: logger)
                    let after = try await change(connection)
                    shape.withLock { $0 = after }
                    keyStates.clear()
                    return after.schema.entity
                }
            } catch {
                guard attempt < Self.addAttempts, "\(error)".contains("SQLSTATE 55P03") else { throw error }
                try? await Task.sleep(for: .milliseconds(20 + 10 * min(attempt, 10)))
            }
        }
    }

    public func schemaHistory() async throws(WarehouseError) -> [SchemaChange] {
        let (configured, logger) = (self.configured, self.logger)
        return try await reading { connection in
            try await Self.changes(connection, configured: configured, logger: logger)
        }
    }
}
