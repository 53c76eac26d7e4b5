import FirnCore
import FirnWarehouse
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
    func query(_ sql: String, readOnly: Bool = false) throws(WarehouseError) -> QueryOutcome {
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
        return QueryOutcome(result: result, changes: changes)
    }

    /// One page of a key's versions, oldest first (by start).
    func history(of key: Key, _ page: PageRequest) throws(WarehouseError) -> Page<Version> {
        let schema = self.schema
        let after = page.after?.position.first ?? .null
        return try read { db in
            let versions = try Self.versions(
                db,
                schema: schema,
                sql: """
                    SELECT * FROM \(schema.history) WHERE \(schema.keyMatch) AND (? IS NULL OR start_time > ?)
                    ORDER BY start_time LIMIT ?
                    """,
                arguments: StatementArguments(key.values.map(\.databaseValue))
                    + [after.databaseValue, after.databaseValue, page.limit + 1]
            )
            return Page(reading: versions, for: page) { [.text($0.start.description)] }
        }
    }

    /// One page of a key's late records, in arrival order.
    func lateRecords(of key: Key, _ page: PageRequest) throws(WarehouseError) -> Page<LateRecord> {
        let schema = self.schema
        let (load, row) = page.arrivalAfter
        return try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(schema.eventTime), \(schema.op), load_id, source_row, latest_before FROM \(schema.late)
                    WHERE \(schema.keyMatch) AND (load_id, source_row) > (?, ?) ORDER BY load_id, source_row LIMIT ?
                    """,
                arguments: StatementArguments(key.values.map(\.databaseValue)) + [load, row, page.limit + 1]
            )
            let records = rows.map { row in
                LateRecord(
                    key: key,
                    eventTime: Timestamp(canonical: row[0]) ?? Timestamp(microseconds: 0),
                    operation: (row[1] as String) == Operation.delete.rawValue ? .delete : .upsert,
                    loadID: row[2],
                    row: row[3],
                    latestBefore: Timestamp(canonical: row[4]) ?? Timestamp(microseconds: 0)
                )
            }
            return Page(reading: records, for: page) { [.integer($0.loadID), .integer($0.row)] }
        }
    }

    /// One page of the versions in force at `time` (`start <= time < end`), by key: the keys
    /// that existed then (deleted spans are not versions).
    func asOf(_ time: Timestamp, _ page: PageRequest) throws(WarehouseError) -> Page<Version> {
        let schema = self.schema
        let keyCount = entity.keyColumns.count
        let after = page.after?.position ?? []
        return try read { db in
            let keyAfter =
                after.count == keyCount
                ? "AND (\(schema.keyList)) > (\(schema.placeholders(keyCount)))" : ""
            let versions = try Self.versions(
                db,
                schema: schema,
                sql: """
                    SELECT * FROM (\(schema.versions(live: ""))) AS h
                    WHERE start_time <= ? AND (is_current = 1 OR end_time > ?) \(keyAfter)
                    ORDER BY \(schema.keyList) LIMIT ?
                    """,
                arguments: [time.description, time.description]
                    + StatementArguments(after.count == keyCount ? after.map(\.databaseValue) : [])
                    + [page.limit + 1]
            )
            return Page(reading: versions, for: page) { $0.key.values }
        }
    }

    /// Reads history rows (keys, attributes, `start_time`, `end_time`, `is_current`, and under
    /// `deletes: record` `is_deleted`) as versions.
    static func versions(
        _ db: Database,
        schema: EntitySchema,
        sql: String,
        arguments: StatementArguments
    ) throws -> [Version] {
        let keyCount = schema.keys.count
        let width = schema.attributes.count
        return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            let start: String = row[keyCount + width]
            // NULL for an open version under `open_end: null`.
            let end: String? = row[keyCount + width + 1]
            let isCurrent: Bool = row[keyCount + width + 2]
            let isDeleted: Bool = row.count > keyCount + width + 3 ? row[keyCount + width + 3] : false
            return Version(
                key: Key((0..<keyCount).map { row.value(at: $0) }),
                attributes: (keyCount..<(keyCount + width)).map { row.value(at: $0) },
                start: Timestamp(canonical: start) ?? Timestamp(microseconds: 0),
                end: isCurrent ? nil : end.flatMap(Timestamp.init(canonical:)),
                isDeleted: isDeleted
            )
        }
    }

    /// One page of load history, newest first.
    func loadHistory(_ page: PageRequest) throws(WarehouseError) -> Page<LoadSummary> {
        let before = page.after?.position.first ?? .null
        return try read { db in
            let loads = try Row.fetchAll(
                db,
                sql: "SELECT \(Self.summaryColumns) FROM firn_loads WHERE (? IS NULL OR load_id < ?) "
                    + "ORDER BY load_id DESC LIMIT ?",
                arguments: [before.databaseValue, before.databaseValue, page.limit + 1]
            ).map(Self.summary(_:))
            return Page(reading: loads, for: page) { [.integer($0.id)] }
        }
    }

    /// One page of rejected rows, newest first, of one load or of all.
    func rejects(load: Int64?, _ page: PageRequest) throws(WarehouseError) -> Page<RejectRecord> {
        let before = page.after?.position.first ?? .null
        return try read { db in
            let rejects = try Row.fetchAll(
                db,
                sql: """
                    SELECT reject_id, load_id, source_file, source_row, reason, raw_text, rejected_at
                    FROM firn_rejects WHERE (? IS NULL OR load_id = ?) AND (? IS NULL OR reject_id < ?)
                    ORDER BY reject_id DESC LIMIT ?
                    """,
                arguments: [load, load, before.databaseValue, before.databaseValue, page.limit + 1]
            ).map { row in
                RejectRecord(
                    id: row[0],
                    loadID: row[1],
                    sourceFile: row[2],
                    sourceRow: row[3],
                    reason: row[4],
                    rawText: row[5],
                    rejectedAt: row[6]
                )
            }
            return Page(reading: rejects, for: page) { [.integer($0.id)] }
        }
    }
}
