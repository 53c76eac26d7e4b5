import FirnCore
import GRDB
import FirnWarehouse

extension SQLiteWarehouse {
    /// The objects among `keys` (after `after`, when given) that the pipe has already taken, as
    /// ``PipeObjectTaken/name(key:etag:)`` strings.
    ///
    /// - Throws: ``WarehouseError``.
    func takenPipeObjects(after: String?) throws(WarehouseError) -> Set<String> {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT object_key, etag FROM firn_pipe_objects WHERE object_key > ?",
                arguments: [after ?? ""]
            )
            return Set(rows.map { PipeObjectTaken.name(key: $0[0], etag: $0[1]) })
        }
    }

    /// Which of `objects` the pipe has taken before, as ``PipeObjectTaken/name(key:etag:)``
    /// strings, in one read.
    ///
    /// - Throws: ``WarehouseError``.
    func takenPipeObjects(among objects: [(key: String, etag: String)]) throws(WarehouseError) -> Set<String> {
        try read { db in
            let statement = try db.cachedStatement(
                sql: "SELECT EXISTS(SELECT 1 FROM firn_pipe_objects WHERE object_key = ? AND etag = ?)"
            )
            var taken: Set<String> = []
            for object in objects where try Bool.fetchOne(statement, arguments: [object.key, object.etag]) == true {
                taken.insert(PipeObjectTaken.name(key: object.key, etag: object.etag))
            }
            return taken
        }
    }

    /// Whether the pipe has taken this object (key and ETag) before.
    ///
    /// - Throws: ``WarehouseError``.
    func hasTakenPipeObject(key: String, etag: String) throws(WarehouseError) -> Bool {
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
    func recordPipeObject(
        key: String,
        etag: String,
        sizeBytes: Int64,
        loadID: Int64?,
        status: String
    ) throws(WarehouseError) {
        try recordPipeObjects([
            PipeObjectTaken(key: key, etag: etag, sizeBytes: sizeBytes, loadID: loadID, status: status)
        ])
    }

    /// Records that the pipe took these objects, in one transaction.
    func recordPipeObjects(_ objects: [PipeObjectTaken]) throws(WarehouseError) {
        try write { db in
            let now = Timestamp.now().description
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO firn_pipe_objects (object_key, etag, size_bytes, load_id, status, seen_at, loaded_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (object_key, etag) DO UPDATE SET load_id = excluded.load_id,
                        status = excluded.status, loaded_at = excluded.loaded_at
                    """
            )
            for object in objects {
                try statement.execute(arguments: [
                    object.key, object.etag, object.sizeBytes, object.loadID, object.status, now, now,
                ])
            }
        }
    }
}

extension SQLiteWarehouse {
    /// One page of the objects the pipe has taken, by key then ETag.
    func pipeObjects(_ page: PageRequest) throws(WarehouseError) -> Page<PipeObject> {
        let after = page.after?.position ?? []
        let (key, etag) = after.count == 2 ? (after[0].databaseValue, after[1].databaseValue) : (.null, .null)
        return try read { db in
            let objects = try Row.fetchAll(
                db,
                sql: """
                    SELECT object_key, etag, load_id, status, size_bytes, seen_at, loaded_at FROM firn_pipe_objects
                    WHERE ? IS NULL OR (object_key, etag) > (?, ?) ORDER BY object_key, etag LIMIT ?
                    """,
                arguments: [key, key, etag, page.limit + 1]
            ).map { row in
                PipeObject(
                    key: row[0],
                    etag: row[1],
                    loadID: row[2],
                    status: row[3],
                    sizeBytes: row[4],
                    seenAt: row[5],
                    loadedAt: row[6]
                )
            }
            return Page(reading: objects, for: page) { [.text($0.key), .text($0.etag)] }
        }
    }

    /// Rows in the SCD1 table (live keys).
    ///
    /// - Throws: ``WarehouseError``.
    func liveRowCount() throws(WarehouseError) -> Int {
        let table = schema.current
        return try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
    }

    /// Load history rows for one file name (or object key), oldest first.
    ///
    /// - Throws: ``WarehouseError``.
    func loads(named name: String) throws(WarehouseError) -> [LoadSummary] {
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
