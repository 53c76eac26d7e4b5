import FirnCore
import FirnWarehouse
import GRDB

// Workers and claims on SQLite. One file has one writer at a time, so a claim is not needed:
// processes sharing a file that take the same object take turns at its chunks, and load
// history skips what one of them committed (see `withClaim`).
extension SQLiteWarehouse {
    static let workersTable = """
        CREATE TABLE IF NOT EXISTS firn_workers (
            worker TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            heartbeat_at TEXT NOT NULL,
            objects_loaded INTEGER NOT NULL,
            rows_loaded INTEGER NOT NULL,
            rows_per_second REAL NOT NULL,
            claimed_objects INTEGER NOT NULL
        )
        """

    /// Runs `body`: on SQLite every worker may take every object (see the extension's note).
    public func withClaim<T: Sendable>(
        on name: String,
        _ body: () async throws(WarehouseError) -> T
    ) async throws(WarehouseError) -> T? {
        try await body()
    }

    /// One process writes a SQLite file's pipe at a time: every claim is this process's.
    public func withClaims<T: Sendable>(
        on names: [String],
        _ body: ([String]) async throws(WarehouseError) -> T
    ) async throws(WarehouseError) -> T? {
        names.isEmpty ? nil : try await body(names)
    }

    public func recordHeartbeat(_ worker: WorkerRecord) async throws(WarehouseError) {
        try await offPool { () throws(WarehouseError) in
            try self.write { db in
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO firn_workers (worker, host, pid, started_at, heartbeat_at, objects_loaded,
                            rows_loaded, rows_per_second, claimed_objects)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        worker.id, worker.host, worker.processID, worker.startedAt, worker.heartbeatAt,
                        worker.objectsLoaded, worker.rowsLoaded, worker.rowsPerSecond, worker.claimedObjects,
                    ]
                )
            }
        }
    }

    public func removeWorker(_ id: String) async throws(WarehouseError) {
        try await offPool { () throws(WarehouseError) in
            try self.write { db in try db.execute(sql: "DELETE FROM firn_workers WHERE worker = ?", arguments: [id]) }
        }
    }

    public func workers() async throws(WarehouseError) -> [WorkerRecord] {
        try await offPool { () throws(WarehouseError) in
            try self.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT worker, host, pid, started_at, heartbeat_at, objects_loaded, rows_loaded, rows_per_second,
                            claimed_objects
                        FROM firn_workers ORDER BY heartbeat_at DESC, worker
                        """
                ).map { row in
                    WorkerRecord(
                        id: row[0],
                        host: row[1],
                        processID: row[2],
                        startedAt: row[3],
                        heartbeatAt: row[4],
                        objectsLoaded: row[5],
                        rowsLoaded: row[6],
                        rowsPerSecond: row[7],
                        claimedObjects: row[8]
                    )
                }
            }
        }
    }

    public func leases() async throws(WarehouseError) -> [LeaseRecord] {
        try await offPool { () throws(WarehouseError) in
            try self.read { db in
                try Row.fetchAll(db, sql: "SELECT name, holder, expires_at FROM firn_leases ORDER BY name").map { row in
                    LeaseRecord(name: row[0], holder: row[1], expiresAt: row[2])
                }
            }
        }
    }
}
