import FirnCore
import FirnWarehouse
import PostgresNIO

// Workers sharing one PostgreSQL warehouse: claims on objects, heartbeats, leases.
extension PostgresWarehouse {
    static let workersTable = """
        CREATE TABLE IF NOT EXISTS firn_workers (
            worker text PRIMARY KEY, host text NOT NULL, pid bigint NOT NULL, started_at text NOT NULL,
            heartbeat_at text NOT NULL, objects_loaded bigint NOT NULL, rows_loaded bigint NOT NULL,
            rows_per_second double precision NOT NULL, claimed_objects bigint NOT NULL)
        """

    /// The claim is a session-level advisory lock (`pg_try_advisory_lock`) on a connection held
    /// for `body`'s duration, so it ends when the holder's session does: a worker killed
    /// mid-object, or cut off from the server, loses it within the server's notice of the
    /// closed connection. `body` works on other connections of the pool.
    public func withClaim<T: Sendable>(
        on name: String,
        _ body: () async throws(WarehouseError) -> T
    ) async throws(WarehouseError) -> T? {
        try await withClaims(on: [name]) { (_) async throws(WarehouseError) -> T in try await body() }
    }

    /// The claims of ``withClaim(on:_:)``, all held on one connection.
    public func withClaims<T: Sendable>(
        on names: [String],
        _ body: ([String]) async throws(WarehouseError) -> T
    ) async throws(WarehouseError) -> T? {
        let logger = self.logger
        let schema = server.schema
        do {
            return try await client.withConnection { connection -> T? in
                var held: [(name: String, key: PostgresBindings)] = []
                for name in names {
                    var key = PostgresBindings()
                    key.append(Self.lockKey("claim:\(schema):\(name)"))
                    if try await connection.rows("SELECT pg_try_advisory_lock($1)", key, logger: logger).first?
                        .decode(Bool.self) == true
                    {
                        held.append((name, key))
                    }
                }
                guard !held.isEmpty else { return nil }
                let result: Result<T, WarehouseError>
                do throws(WarehouseError) {
                    result = .success(try await body(held.map(\.name)))
                } catch {
                    result = .failure(error)
                }
                // A connection that broke took the locks with it; the pool drops it. A query on a
                // connection the client has closed never answers (postgres-nio 1.33), so none is
                // sent to one.
                for (_, key) in held where !connection.isClosed {
                    _ = try? await connection.rows("SELECT pg_advisory_unlock($1)", key, logger: logger)
                }
                return try result.get()
            }
        } catch {
            throw map(error)
        }
    }

    public func recordHeartbeat(_ worker: WorkerRecord) async throws(WarehouseError) {
        let logger = self.logger
        try await transaction { connection in
            var binds = PostgresBindings()
            binds.append(worker.id)
            binds.append(worker.host)
            binds.append(worker.processID)
            binds.append(worker.startedAt)
            binds.append(worker.heartbeatAt)
            binds.append(worker.objectsLoaded)
            binds.append(worker.rowsLoaded)
            binds.append(worker.rowsPerSecond)
            binds.append(worker.claimedObjects)
            try await connection.execute(
                """
                INSERT INTO firn_workers (worker, host, pid, started_at, heartbeat_at, objects_loaded, rows_loaded,
                    rows_per_second, claimed_objects)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (worker) DO UPDATE SET heartbeat_at = excluded.heartbeat_at,
                    objects_loaded = excluded.objects_loaded, rows_loaded = excluded.rows_loaded,
                    rows_per_second = excluded.rows_per_second, claimed_objects = excluded.claimed_objects
                """,
                binds,
                logger: logger
            )
        }
    }

    public func removeWorker(_ id: String) async throws(WarehouseError) {
        let logger = self.logger
        try await transaction { connection in
            var binds = PostgresBindings()
            binds.append(id)
            try await connection.execute("DELETE FROM firn_workers WHERE worker = $1", binds, logger: logger)
        }
    }

    public func workers() async throws(WarehouseError) -> [WorkerRecord] {
        let logger = self.logger
        return try await reading { connection in
            try await connection.rows(
                """
                SELECT worker, host, pid, started_at, heartbeat_at, objects_loaded, rows_loaded, rows_per_second,
                    claimed_objects
                FROM firn_workers ORDER BY heartbeat_at DESC, worker
                """,
                logger: logger
            ).map { row in
                let all = try row.decode((String, String, Int64, String, String, Int64, Int64, Double, Int64).self)
                return WorkerRecord(
                    id: all.0,
                    host: all.1,
                    processID: all.2,
                    startedAt: all.3,
                    heartbeatAt: all.4,
                    objectsLoaded: all.5,
                    rowsLoaded: all.6,
                    rowsPerSecond: all.7,
                    claimedObjects: all.8
                )
            }
        }
    }

    public func leases() async throws(WarehouseError) -> [LeaseRecord] {
        let logger = self.logger
        return try await reading { connection in
            try await connection.rows("SELECT name, holder, expires_at FROM firn_leases ORDER BY name", logger: logger)
                .map { row in
                    let (name, holder, expires) = try row.decode((String, String, String).self)
                    return LeaseRecord(name: name, holder: holder, expiresAt: expires)
                }
        }
    }
}
