import FirnCore
import GRDB

extension SQLiteWarehouse {
    /// Runs SQL as a user typed it: one or more statements, any of them DML or DDL, in one
    /// transaction (all commit together, or none does).
    ///
    /// Returns the rows of the last statement that produced columns (empty otherwise) and
    /// the number of rows the statements changed. DML on the SCD1 table is captured by the
    /// stream; call ``consumeStream()`` afterwards to bring it into history. Writes to Firn's
    /// bookkeeping, schema changes to Firn's tables and transaction control are refused before
    /// anything runs (see ``UserSQLGuard``).
    ///
    /// - Parameter readOnly: Refuse every write. Defaults to `false`.
    /// - Throws: ``WarehouseError/invalidRequest(_:)`` for a refused statement,
    ///   ``WarehouseError/statementFailed(sql:reason:)`` for one that failed.
    public func query(_ sql: String, readOnly: Bool = false) throws(WarehouseError) -> (result: QueryResult, changes: Int) {
        var result = QueryResult(columns: [], rows: [])
        let changes = try runUserSQL(sql, readOnly: readOnly) { statement in
            let columns = statement.columnNames
            var rows: [[Value]] = []
            let cursor = try Row.fetchCursor(statement)
            while let row = try cursor.next() {
                rows.append((0..<columns.count).map { row.value(at: $0) })
            }
            result = QueryResult(columns: columns, rows: rows)
        }
        return (result, changes)
    }

    /// Every version of one key, oldest first.
    ///
    /// - Throws: ``WarehouseError``.
    public func history(of key: Key) throws(WarehouseError) -> QueryResult {
        let schema = self.schema
        return try read { db in
            try Self.fetch(
                db,
                sql: "SELECT * FROM \(schema.history) WHERE \(schema.keyMatch) ORDER BY start_time",
                arguments: StatementArguments(key.values.map(\.databaseValue))
            )
        }
    }

    /// The SCD1 table as it stood at `time`, rebuilt from history: the version of each key
    /// in force then (`start_time <= time < end_time`).
    ///
    /// - Throws: ``WarehouseError``.
    public func asOf(_ time: Timestamp) throws(WarehouseError) -> QueryResult {
        let schema = self.schema
        return try read { db in
            try Self.fetch(
                db,
                sql: """
                    SELECT \(schema.keyList), \(schema.attributeList), start_time AS \(schema.eventTime)
                    FROM \(schema.history) WHERE start_time <= ? AND end_time > ? ORDER BY \(schema.keyList)
                    """,
                arguments: [time.description, time.description]
            )
        }
    }

    /// Load history, newest first, with each load's error and warnings (what its file left to
    /// defaults or ignored: no op or event-time column, unknown columns).
    ///
    /// - Parameter limit: At most this many loads. Defaults to `100`.
    /// - Throws: ``WarehouseError``.
    public func loadHistory(limit: Int = 100) throws(WarehouseError) -> QueryResult {
        try read { db in
            try Self.fetch(
                db,
                sql: """
                    SELECT load_id, source, file_name, status, rows_loaded, rows_rejected, versions_opened,
                        versions_closed, started_at, finished_at, substr(checksum, 1, 12) AS checksum, error,
                        warnings
                    FROM firn_loads ORDER BY load_id DESC LIMIT ?
                    """,
                arguments: [limit]
            )
        }
    }

    /// Rejected rows, oldest first, with file, row, raw text and reason.
    ///
    /// - Parameter limit: At most this many rows (the newest). Defaults to `1000`.
    /// - Throws: ``WarehouseError``.
    public func rejects(limit: Int = 1000) throws(WarehouseError) -> QueryResult {
        try read { db in
            try Self.fetch(
                db,
                sql: """
                    SELECT * FROM (SELECT load_id, source_file, source_row, reason, raw_text, rejected_at
                        FROM firn_rejects ORDER BY reject_id DESC LIMIT ?) ORDER BY load_id, source_row
                    """,
                arguments: [limit]
            )
        }
    }

    static func fetch(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> QueryResult {
        let statement = try db.makeStatement(sql: sql)
        let columns = statement.columnNames
        let rows = try Row.fetchAll(statement, arguments: arguments).map { row in
            (0..<columns.count).map { row.value(at: $0) }
        }
        return QueryResult(columns: columns, rows: rows)
    }
}
