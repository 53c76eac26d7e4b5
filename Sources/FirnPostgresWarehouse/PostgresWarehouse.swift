import FirnCore
import FirnWarehouse
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The warehouse on a PostgreSQL server: the same tables, stream, load history and semantics
/// as the SQLite warehouse, in one schema of one database, shared by any number of Firn
/// processes.
///
/// Connections come from a `PostgresClient` pool this warehouse runs (``close()`` ends it); a
/// server that restarts is reconnected to as work asks for connections, and an operation
/// that meets a lost connection fails with ``WarehouseError/unavailable(location:reason:)``
/// (retrying may help), having committed nothing.
///
/// How it keeps the contract of ``Warehouse`` with several writers:
/// - arrival order: each chunk's transaction takes a transaction-scoped advisory lock on the
///   entity before it takes its arrival number (`firn_chunks`, a sequence) and holds it until
///   it commits, so numbers follow commit order;
/// - remembered key states: each chunk takes its turn (the apply lock) and counts itself in
///   `firn_epochs`, as every other writer of the entity's tables does through triggers; a
///   worker uses what it remembers only when no other transaction was counted since its own
///   last chunk, and probes the keys it does not know, set-based, in its transaction;
/// - the pipeline's transactions set `firn.origin` to `pipeline` for themselves only
///   (`SET LOCAL`), which the stream's triggers skip; every other client's DML is captured, and
///   takes the same advisory lock first (a statement trigger), so it never interleaves with a
///   chunk that reads and rewrites the same SCD1 rows;
/// - the task scheduler runs where the `scheduler` lease is held (`firn_leases`, a row with an
///   expiry, taken with `INSERT … ON CONFLICT … WHERE expired`).
public final class PostgresWarehouse: Warehouse {
    /// The entity: the configured one with the attributes schema evolution added (by this
    /// worker or another).
    public var entity: EntityConfiguration { schema.entity }
    /// The entity as configured.
    let configured: EntityConfiguration
    /// The server, database and schema.
    public let server: PostgresLocation
    public var location: String { server.description }
    let client: PostgresClient
    /// The pool's run, shared with the other entities opened on it (``opening(_:)``).
    let pool: Pool
    /// Whether ``close()`` has let go of the pool.
    private let closed = Locked(false)
    /// The entity's tables and statements as they are now; replaced under the apply lock when
    /// the entity's shape changes.
    var schema: PostgresSchema { shape.withLock { $0.schema } }
    let shape: Locked<PostgresShape>
    let logger: Logger
    /// The advisory lock key that serialises chunk commits of this entity in this schema.
    let applyLock: Int64
    /// What this worker remembers about keys it wrote (see `PostgresWarehouse+KeyStates`).
    let keyStates: KeyStateCache

    private init(
        entity: EntityConfiguration,
        server: PostgresLocation,
        client: PostgresClient,
        pool: Pool,
        keyStateCapacity: Int,
        logger: Logger
    ) {
        self.keyStates = KeyStateCache(capacity: keyStateCapacity)
        self.configured = entity
        self.server = server
        self.client = client
        self.pool = pool
        pool.retain()
        self.logger = logger
        let applyLock = Self.lockKey("apply:\(server.schema).\(entity.name.normalized)")
        self.applyLock = applyLock
        self.shape = Locked(PostgresShape(schema: PostgresSchema(entity: entity, applyLock: applyLock), version: 0))
    }

    deinit {
        if !closed.withLock({ $0 }) { pool.release() }
    }

    /// A connection pool's run, shared by the warehouses of several entities on one server
    /// and schema: it ends when the last of them closes (or goes away).
    final class Pool: Sendable {
        let runner: Task<Void, Never>
        /// Flushes the server's log while large chunks run (see ``LogFlush``).
        let logFlush: LogFlush
        private let users = Locked(0)

        init(_ client: PostgresClient, logger: Logger) {
            runner = Task { await client.run() }
            logFlush = LogFlush(client, logger: logger)
        }

        func retain() { users.withLock { $0 += 1 } }

        /// Lets go of the pool; the last user ends its run.
        func release() {
            let left = users.withLock { count -> Int in
                count -= 1
                return count
            }
            if left == 0 {
                logFlush.stop()
                runner.cancel()
            }
        }
    }

    /// Opens another entity's warehouse on this one's server and schema, sharing its connection
    /// pool (so a process that loads several entities holds one pool, not one per entity).
    ///
    /// - Throws: As ``open(_:entity:creating:maximumConnections:keyStateCapacity:logger:)``
    ///   does for the entity's tables.
    public func opening(_ entity: EntityConfiguration, keyStateCapacity: Int = KeyStateCache.defaultCapacity) async throws(WarehouseError)
        -> PostgresWarehouse
    {
        let warehouse = PostgresWarehouse(
            entity: entity,
            server: server,
            client: client,
            pool: pool,
            keyStateCapacity: keyStateCapacity,
            logger: logger
        )
        try await warehouse.migrate()
        return warehouse
    }

    /// Connects, creates the schema and the entity's tables (or checks them), and returns the
    /// warehouse.
    ///
    /// The server is tried first on a connection of its own, so a wrong password, a missing
    /// database or a server that is down fails at once with the server's reason.
    ///
    /// - Throws: ``WarehouseError/cannotOpen(location:reason:)``,
    ///   ``WarehouseError/schemaMismatch(table:reason:)`` or
    ///   ``WarehouseError/newerSchema(location:version:known:)``.
    /// - Parameter keyStateCapacity: Keys whose state this worker remembers between chunks (as
    ///   `SQLiteConfiguration.keyStateCapacity`); `0` probes every key.
    public static func open(
        _ server: PostgresLocation,
        entity: EntityConfiguration = .customer,
        creating: Bool = true,
        maximumConnections: Int = 8,
        keyStateCapacity: Int = KeyStateCache.defaultCapacity,
        logger: Logger = Logger(label: "firn.postgres")
    ) async throws(WarehouseError) -> PostgresWarehouse {
        // A connection of its own first: the pool would retry a wrong password or a stopped
        // server for a minute and then report only that it gave up.
        let probe = try server.connectionConfiguration()
        let configuration = try server.clientConfiguration(maximumConnections: maximumConnections)
        do {
            let connection = try await PostgresConnection.connect(configuration: probe, id: 0, logger: logger)
            defer { Task { try? await connection.close() } }
            if !creating {
                let exists = try await connection.rows(
                    "SELECT to_regclass('\"\(server.schema)\".firn_schema_versions') IS NOT NULL",
                    logger: logger
                ).first?.decode(Bool.self) ?? false
                if !exists { throw MissingWarehouse() }
            }
            _ = try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(server.schema)\""),
                logger: logger
            ).get()
        } catch is MissingWarehouse {
            throw .cannotOpen(
                location: server.description,
                reason: "no Firn warehouse in schema \(server.schema) (`firn load` or `firn run` creates one)"
            )
        } catch {
            throw .cannotOpen(location: server.description, reason: Self.reason(error))
        }
        // The pool's own log: errors only (it warns when a lease comes before `run()` has started,
        // which is harmless; connection failures reach callers as errors).
        var background = logger
        background.logLevel = .error
        let client = PostgresClient(configuration: configuration, backgroundLogger: background)
        let warehouse = PostgresWarehouse(
            entity: entity,
            server: server,
            client: client,
            pool: Pool(client, logger: logger),
            keyStateCapacity: keyStateCapacity,
            logger: logger
        )
        // Failing, the warehouse goes away here, and the pool's run with it.
        try await warehouse.migrate()
        return warehouse
    }

    /// Ends the connection pool (once every entity opened on it has closed); the warehouse
    /// cannot be used afterwards.
    public func close() async {
        let wasOpen = closed.withLock { isClosed -> Bool in
            defer { isClosed = true }
            return !isClosed
        }
        guard wasOpen else { return }
        pool.release()
        if pool.runner.isCancelled {
            await pool.logFlush.idle()
            _ = await pool.runner.value
        }
    }

    // MARK: Running statements

    /// Runs `body` in a transaction on one connection: committed when it returns, rolled back
    /// when it throws. The transaction's writes are the pipeline's when `asPipeline`.
    func transaction<T: Sendable>(
        asPipeline: Bool = false,
        _ body: (PostgresConnection) async throws -> T
    ) async throws(WarehouseError) -> T {
        let logger = self.logger
        do {
            return try await client.withTransaction(logger: logger) { connection in
                if asPipeline {
                    // The pipeline's writes, which the stream's triggers skip. Joins by index only:
                    // a chunk touches a few thousand keys of SCD1 or history, which may hold
                    // millions, and the planner, which knows neither the size of the rows it is
                    // given (a temporary table, an array) nor that the index is cached, would
                    // rather hash a whole table for every chunk. No JIT: a probe of ten thousand
                    // keys runs in tens of milliseconds and its cost estimate, high because of
                    // those same joins, would have it compiled for longer than that.
                    try await connection.execute(
                        "SELECT set_config('firn.origin', 'pipeline', true), set_config('enable_hashjoin', 'off', true), "
                            + "set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true)",
                        logger: logger
                    )
                }
                return try await body(connection)
            }
        } catch {
            throw map(error)
        }
    }

    /// Runs `body` on one connection, outside a transaction.
    func reading<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws(WarehouseError) -> T {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw map(error)
        }
    }

    /// The error as the user should read it: a lost server is ``WarehouseError/unavailable``.
    func map(_ error: any Error) -> WarehouseError {
        var error = error
        if let wrapped = error as? PostgresTransactionError {
            error = wrapped.closureError ?? wrapped.commitError ?? wrapped.beginError ?? wrapped.rollbackError ?? error
        }
        if let error = error as? WarehouseError { return error }
        if let error = error as? PSQLError {
            switch error.code {
            case .server:
                let state = error.serverInfo?[.sqlState] ?? ""
                let message = error.serverInfo?[.message] ?? "server error"
                // A serialization failure or a deadlock rolled the transaction back; another try may pass.
                if state == "40001" || state == "40P01" {
                    return .unavailable(
                        location: location,
                        reason: "\(message) (SQLSTATE \(state)); the transaction was rolled back, "
                            + "and trying again may succeed"
                    )
                }
                // Connection exceptions, shutdowns and too many connections may clear.
                if state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300" {
                    return .unavailable(location: location, reason: "\(message) (SQLSTATE \(state))")
                }
                return .statementFailed(sql: error.query.map { Self.brief($0.sql) } ?? "", reason: "\(message) (SQLSTATE \(state))")
            default:
                return .unavailable(location: location, reason: Self.reason(error))
            }
        }
        if error is CancellationError { return .unavailable(location: location, reason: "cancelled") }
        return .unavailable(location: location, reason: Self.reason(error))
    }

    /// A one-line reason for an error from postgres-nio or its pool, without SQL or values.
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return message + (error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            switch error.code {
            case .connectionError:
                let underlying = error.underlying.map { "\($0)" } ?? "connection failed"
                return "cannot connect: \(underlying)"
            case .serverClosedConnection, .uncleanShutdown: return "the server closed the connection"
            case .sslUnsupported: return "the server does not support TLS (use sslmode=disable or prefer)"
            default: return "\(error.code)"
            }
        }
        let text = "\(error)"
        if text.contains("connectionCreationCircuitBreakerTripped") {
            return "cannot connect to the server (it refused or did not answer for a minute)"
        }
        return text
    }

    /// The first line of a statement, for messages.
    static func brief(_ sql: String) -> String {
        let line = sql.split(separator: "\n").first.map(String.init) ?? sql
        return line.count > 120 ? String(line.prefix(120)) + "…" : line
    }

    /// A stable 64-bit key for `pg_advisory_xact_lock` from a name (FNV-1a).
    static func lockKey(_ name: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}

/// A read command found no warehouse in the schema.
private struct MissingWarehouse: Error {}

extension PostgresConnection {
    /// Runs a statement whose rows, if any, are not needed.
    func execute(_ sql: String, _ binds: PostgresBindings = PostgresBindings(), logger: Logger) async throws {
        _ = try await query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).get()
    }

    /// Runs a statement and returns how many rows it changed.
    func changing(_ sql: String, _ binds: PostgresBindings = PostgresBindings(), logger: Logger) async throws -> Int {
        try await query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).get().metadata.rows ?? 0
    }

    /// Runs a query and returns its rows.
    func rows(_ sql: String, _ binds: PostgresBindings = PostgresBindings(), logger: Logger) async throws
        -> [PostgresRow]
    {
        try await query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).get().rows
    }
}

extension PostgresBindings {
    /// Appends a Firn value: integers as `bigint`, text as `text`, NULL untyped.
    mutating func append(value: Value) {
        switch value {
        case .null: appendNull()
        case .integer(let number): append(number)
        case .text(let text): append(text)
        }
    }

    /// Binds from a list of values.
    init(values: [Value]) {
        self.init(capacity: values.count)
        for value in values { append(value: value) }
    }
}

extension PostgresCell {
    /// The cell as a Firn value: integers (and booleans, as 0 or 1) as integers, text as text,
    /// other types as their text.
    var value: Value {
        guard bytes != nil else { return .null }
        do {
            switch dataType {
            case .int2, .int4, .int8: return .integer(try decode(Int64.self))
            case .bool: return .integer(try decode(Bool.self) ? 1 : 0)
            case .float4, .float8: return .text(String(try decode(Double.self)))
            case .numeric: return .text("\(try decode(Decimal.self))")
            case .text, .varchar, .bpchar, .name, .json, .jsonb, .uuid: return .text(try decode(String.self))
            case .timestamp, .timestamptz, .date:
                return .text(Timestamp(microseconds: Int64((try decode(Date.self)).timeIntervalSince1970 * 1_000_000)).description)
            default: return .text("<\(dataType)>")
            }
        } catch {
            return .text("<unreadable \(dataType)>")
        }
    }
}

extension PostgresRow {
    /// The row's values, in column order.
    var values: [Value] { map(\.value) }
}
