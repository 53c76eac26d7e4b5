import FirnCore
import GRDB

/// What the pipe recorded about one bucket object.
public struct PipeObject: Sendable, Hashable {
    /// The object key.
    public var key: String
    /// The object's ETag when it was taken.
    public var etag: String
    /// The load history row that loaded it (`firn_loads.load_id`).
    public var loadID: Int64?
    /// `loaded`, `skipped` (same content loaded before) or `failed`.
    public var status: String
}

extension SQLiteWarehouse {
    /// The objects among `keys` (after `after`, when given) that the pipe has already taken, as
    /// `key + "\u{0}" + etag` strings.
    ///
    /// - Throws: ``WarehouseError``.
    public func takenPipeObjects(after: String?) throws(WarehouseError) -> Set<String> {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT object_key, etag FROM firn_pipe_objects WHERE object_key > ?",
                arguments: [after ?? ""]
            )
            return Set(rows.map { ($0[0] as String) + "\u{0}" + ($0[1] as String) })
        }
    }

    /// Whether the pipe has taken this object (key and ETag) before.
    ///
    /// - Throws: ``WarehouseError``.
    public func hasTakenPipeObject(key: String, etag: String) throws(WarehouseError) -> Bool {
        try read { db in
            try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS(SELECT 1 FROM firn_pipe_objects WHERE object_key = ? AND etag = ?)",
                arguments: [key, etag]
            ) ?? false
        }
    }

    /// Records that the pipe took an object: it is not taken again under the same ETag.
    ///
    /// - Throws: ``WarehouseError``.
    public func recordPipeObject(
        key: String,
        etag: String,
        sizeBytes: Int64,
        loadID: Int64?,
        status: String
    ) throws(WarehouseError) {
        try write { db in
            let now = Timestamp.now().description
            try db.execute(
                sql: """
                    INSERT INTO firn_pipe_objects (object_key, etag, size_bytes, load_id, status, seen_at, loaded_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (object_key, etag) DO UPDATE SET load_id = excluded.load_id,
                        status = excluded.status, loaded_at = excluded.loaded_at
                    """,
                arguments: [key, etag, sizeBytes, loadID, status, now, now]
            )
        }
    }
}

extension SQLiteWarehouse {
    /// Rows in the SCD1 table (live keys).
    ///
    /// - Throws: ``WarehouseError``.
    public func liveRowCount() throws(WarehouseError) -> Int {
        let table = schema.current
        return try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
    }

    /// Load history rows for one file name (or object key), oldest first.
    ///
    /// - Throws: ``WarehouseError``.
    public func loads(named name: String) throws(WarehouseError) -> [LoadSummary] {
        try read { db in
            let ids = try Int64.fetchAll(
                db,
                sql: "SELECT load_id FROM firn_loads WHERE file_name = ? ORDER BY load_id",
                arguments: [name]
            )
            return try ids.compactMap { try Self.summary(db, id: $0) }
        }
    }
}
