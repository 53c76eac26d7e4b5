import FirnCore
import FirnWarehouse
import PostgresNIO

// Typed, paginated reads on PostgreSQL, in the orders `Warehouse` states.
extension PostgresWarehouse {
    public func loadSummary(_ id: Int64) async throws(WarehouseError) -> LoadSummary? {
        let logger = self.logger
        return try await reading { connection in try await Self.summary(connection, id: id, logger: logger) }
    }

    public func loadSummaries(_ ids: [Int64]) async throws(WarehouseError) -> [Int64: LoadSummary] {
        let logger = self.logger
        return try await reading { connection in
            var found: [Int64: LoadSummary] = [:]
            for id in Set(ids) { found[id] = try await Self.summary(connection, id: id, logger: logger) }
            return found
        }
    }

    public func loadHistory(_ page: PageRequest) async throws(WarehouseError) -> Page<LoadSummary> {
        let logger = self.logger
        return try await reading { connection in
            var binds = PostgresBindings()
            binds.append(page.after?.position.first.flatMap { if case .integer(let id) = $0 { id } else { nil } })
            binds.append(Int64(page.limit + 1))
            let loads = try await connection.rows(
                "SELECT \(Self.summaryColumns) FROM firn_loads WHERE ($1::bigint IS NULL OR load_id < $1) "
                    + "ORDER BY load_id DESC LIMIT $2",
                binds,
                logger: logger
            ).map(Self.summary(_:))
            return Page(reading: loads, for: page) { [.integer($0.id)] }
        }
    }

    public func loads(named name: String) async throws(WarehouseError) -> [LoadSummary] {
        let logger = self.logger
        return try await reading { connection in
            var binds = PostgresBindings()
            binds.append(name)
            return try await connection.rows(
                "SELECT \(Self.summaryColumns) FROM firn_loads WHERE file_name = $1 ORDER BY load_id",
                binds,
                logger: logger
            ).map(Self.summary(_:))
        }
    }

    public func rejects(load: Int64?, _ page: PageRequest) async throws(WarehouseError) -> Page<RejectRecord> {
        let logger = self.logger
        return try await reading { connection in
            var binds = PostgresBindings()
            binds.append(load)
            binds.append(page.after?.position.first.flatMap { if case .integer(let id) = $0 { id } else { nil } })
            binds.append(Int64(page.limit + 1))
            let rejects = try await connection.rows(
                """
                SELECT reject_id, load_id, source_file, source_row, reason, raw_text, rejected_at FROM firn_rejects
                WHERE ($1::bigint IS NULL OR load_id = $1) AND ($2::bigint IS NULL OR reject_id < $2)
                ORDER BY reject_id DESC LIMIT $3
                """,
                binds,
                logger: logger
            ).map { row in
                let (id, loadID, file, sourceRow, reason, raw, at) = try row.decode(
                    (Int64, Int64, String, Int64, String, String, String).self
                )
                return RejectRecord(
                    id: id,
                    loadID: loadID,
                    sourceFile: file,
                    sourceRow: sourceRow,
                    reason: reason,
                    rawText: raw,
                    rejectedAt: at
                )
            }
            return Page(reading: rejects, for: page) { [.integer($0.id)] }
        }
    }

    public func history(of key: Key, _ page: PageRequest) async throws(WarehouseError) -> Page<Version> {
        let schema = self.schema
        let logger = self.logger
        return try await reading { connection in
            var binds = PostgresBindings(values: key.values)
            let after = page.after?.position.first.map(\.description)
            binds.append(after)
            binds.append(Int64(page.limit + 1))
            let count = key.values.count
            let versions = try await Self.versions(
                connection,
                schema: schema,
                sql: "SELECT * FROM \(schema.history) WHERE \(schema.keyMatch(from: 1)) "
                    + "AND ($\(count + 1)::text IS NULL OR start_time > $\(count + 1)) ORDER BY start_time LIMIT $\(count + 2)",
                binds: binds,
                logger: logger
            )
            return Page(reading: versions, for: page) { [.text($0.start.description)] }
        }
    }

    public func lateRecords(of key: Key, _ page: PageRequest) async throws(WarehouseError) -> Page<LateRecord> {
        let schema = self.schema
        let logger = self.logger
        let (load, row) = page.arrivalAfter
        return try await reading { connection in
            var binds = PostgresBindings(values: key.values)
            binds.append(load)
            binds.append(row)
            binds.append(Int64(page.limit + 1))
            let count = key.values.count
            let records = try await connection.rows(
                "SELECT \(schema.eventTime), \(schema.op), load_id, source_row, latest_before FROM \(schema.late) "
                    + "WHERE \(schema.keyMatch(from: 1)) AND (load_id, source_row) > ($\(count + 1), $\(count + 2)) "
                    + "ORDER BY load_id, source_row LIMIT $\(count + 3)",
                binds,
                logger: logger
            ).map { row in
                let (time, operation, loadID, sourceRow, before) = try row.decode((String, String, Int64, Int64, String).self)
                return LateRecord(
                    key: key,
                    eventTime: Timestamp(canonical: time) ?? Timestamp(microseconds: 0),
                    operation: operation == Operation.delete.rawValue ? .delete : .upsert,
                    loadID: loadID,
                    row: sourceRow,
                    latestBefore: Timestamp(canonical: before) ?? Timestamp(microseconds: 0)
                )
            }
            return Page(reading: records, for: page) { [.integer($0.loadID), .integer($0.row)] }
        }
    }

    public func asOf(_ time: Timestamp, _ page: PageRequest) async throws(WarehouseError) -> Page<Version> {
        let schema = self.schema
        let logger = self.logger
        let keyCount = entity.keyColumns.count
        return try await reading { connection in
            var binds = PostgresBindings()
            binds.append(time.description)
            var keyAfter = ""
            if let after = page.after?.position, after.count == keyCount {
                for value in after { binds.append(value: value) }
                keyAfter = "AND (\(schema.keyList)) > (" + (0..<keyCount).map { "$\($0 + 2)" }.joined(separator: ", ") + ")"
            }
            binds.append(Int64(page.limit + 1))
            let versions = try await Self.versions(
                connection,
                schema: schema,
                sql: "SELECT * FROM (\(schema.versions(live: ""))) AS h "
                    + "WHERE start_time <= $1 AND (is_current = 1 OR end_time > $1) \(keyAfter) "
                    + "ORDER BY \(schema.keyList) LIMIT $\(keyAfter.isEmpty ? 2 : keyCount + 2)",
                binds: binds,
                logger: logger
            )
            return Page(reading: versions, for: page) { $0.key.values }
        }
    }

    /// History rows (keys, attributes, `start_time`, `end_time`, `is_current`, and under
    /// `deletes: record` `is_deleted`) as versions.
    static func versions(
        _ connection: PostgresConnection,
        schema: PostgresSchema,
        sql: String,
        binds: PostgresBindings,
        logger: Logger
    ) async throws -> [Version] {
        let keyCount = schema.keys.count
        let width = schema.attributes.count
        return try await connection.rows(sql, binds, logger: logger).map { row in
            let cells = Array(row)
            let start = try cells[keyCount + width].decode(String.self)
            // NULL for an open version under `open_end: null`.
            let end = try cells[keyCount + width + 1].decode(String?.self)
            let isCurrent = try cells[keyCount + width + 2].decode(Int64.self) == 1
            let isDeleted = try cells.count > keyCount + width + 3 && cells[keyCount + width + 3].decode(Int64.self) == 1
            return Version(
                key: Key((0..<keyCount).map { cells[$0].value }),
                attributes: (keyCount..<(keyCount + width)).map { cells[$0].value },
                start: Timestamp(canonical: start) ?? Timestamp(microseconds: 0),
                end: isCurrent ? nil : end.flatMap(Timestamp.init(canonical:)),
                isDeleted: isDeleted
            )
        }
    }

    public func liveRowCount() async throws(WarehouseError) -> Int {
        let table = schema.current
        let logger = self.logger
        return try await reading { connection in
            Int(try await connection.rows("SELECT count(*) FROM \(table)", logger: logger).first?.decode(Int64.self) ?? 0)
        }
    }

    public func latestLoadID() async throws(WarehouseError) -> Int64 {
        let logger = self.logger
        return try await reading { connection in
            try await connection.rows(
                "SELECT COALESCE(max(load_id), 0) FROM firn_loads WHERE status = 'loaded'",
                logger: logger
            ).first?.decode(Int64.self) ?? 0
        }
    }
}
