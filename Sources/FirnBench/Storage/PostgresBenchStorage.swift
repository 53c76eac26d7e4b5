import FirnCore
import FirnPostgresWarehouse
import FirnWarehouse
import Logging
import PostgresNIO

/// `firn bench load` on a PostgreSQL server: one schema per engine and batch size in the
/// location's database, named after the location's schema (`firn_bench_b1000` for Firn,
/// `firn_bench_sql_b1000` for the plain-SQL port), dropped and made afresh for each run.
///
/// Durability is the server's: every commit waits for its WAL flush unless the server says
/// otherwise (`fsync`, `synchronous_commit`).
struct PostgresBenchStorage: BenchStorage {
    let server: PostgresLocation
    let keepsDatabases: Bool
    /// Keys whose state each Firn warehouse opened here remembers between batches.
    let keyStateCapacity: Int
    let logger: Logger

    init(
        server: PostgresLocation,
        keepsDatabases: Bool,
        keyStateCapacity: Int = KeyStateCache.defaultCapacity,
        logger: Logger = Logger(label: "firn.bench.postgres")
    ) {
        self.server = server
        self.keepsDatabases = keepsDatabases
        self.keyStateCapacity = keyStateCapacity
        self.logger = logger
    }

    func schema(_ engine: BenchEngine, size: Int) -> String {
        engine == .firn ? "\(server.schema)_bench_b\(size)" : "\(server.schema)_bench_sql_b\(size)"
    }

    func engineDescription() async -> String {
        let version = try? await withAdmin { connection in
            try await connection.query("SHOW server_version", logger: logger).get().rows.first?.decode(String.self)
        }
        let engine = "PostgreSQL \(version.flatMap { $0 } ?? "?") at \(server.host):\(server.port)"
        return engine + ", tables analyzed after the base load"
    }

    func openFirn(size: Int) async throws(LoadBenchmarkError) -> BenchWarehouse {
        let location = server.inSchema(schema(.firn, size: size))
        try await recreate(location.schema, creating: false)
        do throws(WarehouseError) {
            let warehouse = try await PostgresWarehouse.open(
                location,
                keyStateCapacity: keyStateCapacity,
                logger: logger
            )
            return BenchWarehouse(warehouse: warehouse, close: { await warehouse.close() })
        } catch {
            throw .firn(error)
        }
    }

    /// A fresh, empty Firn warehouse for batch size `size`, opened `count` times: each with its
    /// own connection pool and remembered key states, as `count` worker processes would.
    func openFirnWorkers(size: Int, count: Int) async throws(LoadBenchmarkError) -> [BenchWarehouse] {
        var opened = [try await openFirn(size: size)]
        let location = server.inSchema(schema(.firn, size: size))
        do throws(WarehouseError) {
            while opened.count < count {
                let warehouse = try await PostgresWarehouse.open(
                    location,
                    keyStateCapacity: keyStateCapacity,
                    logger: logger
                )
                opened.append(BenchWarehouse(warehouse: warehouse, close: { await warehouse.close() }))
            }
        } catch {
            for worker in opened { await worker.close() }
            throw .firn(error)
        }
        return opened
    }

    func openBaseline(size: Int) async throws(LoadBenchmarkError) -> any PlainSQLPort {
        let location = server.inSchema(schema(.sql, size: size))
        try await recreate(location.schema, creating: true)
        do {
            return try await PostgresPlainSQL(location: location, logger: logger)
        } catch {
            throw .baseline(PostgresBenchStorage.reason(error))
        }
    }

    /// `ANALYZE` of every table in the engine's schema, as autovacuum does once a table has
    /// grown by a tenth: afterwards the planner expects few staged rows for a new batch, as it
    /// does in a pipeline that has run for a while (the README's Speed on PostgreSQL says what
    /// the port's plans did without it).
    func analyze(_ engine: BenchEngine, size: Int) async throws(LoadBenchmarkError) {
        let name = schema(engine, size: size)
        do {
            try await withAdmin { connection in
                var tables: [String] = []
                for try await row in try await connection.query(
                    "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = \(name)",
                    logger: logger
                ) {
                    tables.append(try row.decode(String.self))
                }
                for table in tables {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: "ANALYZE \(table)"), logger: logger).get()
                }
            }
        } catch {
            throw .directory(path: "schema \(name) on \(server)", reason: Self.reason(error))
        }
    }

    func finish(_ engine: BenchEngine, size: Int) async throws(LoadBenchmarkError) -> (TableDigests, bytes: Int64) {
        let name = schema(engine, size: size)
        // Firn keeps text event times; the port keeps timestamps: both are digested as Firn's
        // canonical text, and `is_current` as 0 or 1; rows in key order (not the key's text).
        let time: (String) -> String = { engine == .firn ? $0 : "to_char(\($0), 'YYYY-MM-DD HH24:MI:SS.US')" }
        let attributes = TableDigests.attributeColumns
        do {
            return try await withAdmin { connection in
                let current = try await Self.digest(
                    connection,
                    "SELECT customer_id::text AS id, \(attributes), \(time("update_timestamp")) FROM \"\(name)\".customer ORDER BY customer_id",
                    logger: logger
                )
                let history = try await Self.digest(
                    connection,
                    """
                    SELECT customer_id::text AS id, \(attributes), \(time("start_time")), \(time("end_time")),
                        (CASE WHEN is_current::text IN ('1', 'true') THEN '1' ELSE '0' END)
                    FROM "\(name)".customer_history ORDER BY customer_id, start_time
                    """,
                    logger: logger
                )
                let bytes = try await connection.query(
                    """
                    SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = \(name) AND c.relkind = 'r'
                    """,
                    logger: logger
                ).get().rows.first?.decode(Int64.self) ?? 0
                if !keepsDatabases {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \"\(name)\" CASCADE"), logger: logger).get()
                }
                return (TableDigests(current: current, history: history), bytes)
            }
        } catch {
            throw .check(path: "schema \(name)", reason: Self.reason(error))
        }
    }

    /// Schemas of this storage's that exist on the server (none once a run that keeps nothing ends).
    func schemasLeft() async throws -> [String] {
        let prefix = "\(server.schema)_bench_"
        return try await withAdmin { connection in
            var names: [String] = []
            let rows = try await connection.query(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, \(prefix)) ORDER BY 1",
                logger: logger
            )
            for try await name in rows.decode(String.self) { names.append(name) }
            return names
        }
    }

    /// Drops the schema and everything in it, if it exists.
    func drop(_ name: String) async throws {
        try await withAdmin { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(name)\" CASCADE"), logger: logger).get()
        }
    }

    /// Drops the schema if it exists; makes it again when `creating` (Firn makes its own).
    func recreate(_ name: String, creating: Bool) async throws(LoadBenchmarkError) {
        do {
            try await withAdmin { connection in
                _ = try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(name)\" CASCADE"), logger: logger).get()
                if creating {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \"\(name)\""), logger: logger).get()
                }
            }
        } catch {
            throw .directory(path: "schema \(name) on \(server)", reason: Self.reason(error))
        }
    }

    /// Runs `body` on a connection of its own to the server.
    private func withAdmin<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        var background = logger
        background.logLevel = .error
        let client = PostgresClient(configuration: try server.clientConfiguration(maximumConnections: 1), backgroundLogger: background)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await client.withConnection { connection in try await body(connection) }
        }
    }

    static func digest(_ connection: PostgresConnection, _ sql: String, logger: Logger) async throws -> TableDigest {
        var digest = TableDigest()
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await row in rows {
            digest.add(try row.map { try $0.decode(String?.self) })
        }
        return digest
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError, let message = error.serverInfo?[.message] {
            return message
        }
        return "\(error)"
    }
}
