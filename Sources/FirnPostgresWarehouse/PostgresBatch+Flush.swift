import FirnCore
import FirnWarehouse
import Logging
import NIOCore
import PostgresNIO

/// Writing a batch's gathered changes: one statement per table.
extension PostgresBatch {
    /// The gathered rows, one statement per table: closed versions and unchanged records
    /// appended by `COPY`, SCD1 rows copied into a temporary table and merged, deleted keys
    /// removed in one statement.
    func flush(_ writes: Writes) async throws {
        let entity = schema.entity
        let keyNames = entity.keyColumns.map(\.name.normalized)
        let attributeNames = entity.attributeColumns.map(\.name.normalized)
        if !writes.closed.isEmpty {
            try await copy(
                writes.closed,
                into: entity.closedHistoryTable.normalized,
                columns: keyNames + attributeNames + ["start_time", "end_time"]
            )
        }
        if !writes.unchanged.isEmpty {
            try await copy(
                writes.unchanged,
                into: entity.unchangedTable.normalized,
                columns: keyNames + [entity.eventTimeColumn.normalized, entity.operationColumn.normalized]
                    + attributeNames
                    + ["chunk_id", "source_row"]
            )
        }
        if !writes.late.isEmpty {
            try await copy(
                writes.late,
                into: entity.lateTable.normalized,
                columns: keyNames + [entity.eventTimeColumn.normalized, entity.operationColumn.normalized]
                    + ["load_id", "source_row", "latest_before"]
            )
        }
        if !writes.deletes.isEmpty {
            let (binds, unnest) = keyArrays(writes.deletes, alias: "d", ordinal: false)
            let names = (0..<keyNames.count).map { "k\($0)" }
            try await connection.execute(
                "DELETE FROM \(schema.current) c USING \(unnest) WHERE "
                    + zip(schema.keys, names).map { "c.\($0) = d.\($1)" }.joined(separator: " AND "),
                binds,
                logger: logger
            )
        }
        let columns = keyNames + attributeNames + [entity.eventTimeColumn.normalized]
        if !writes.inserts.isEmpty {
            try await copy(writes.inserts, into: entity.currentTable.normalized, columns: columns)
        }
        if !writes.updates.isEmpty {
            // Named by the shape too: a connection keeps its temporary tables.
            let staging = "firn_updates_\(entity.name.normalized)_\(schema.storageTag)"
            try await connection.execute(
                "CREATE TEMP TABLE IF NOT EXISTS \"\(staging)\" (LIKE \(schema.current)) ON COMMIT DELETE ROWS",
                logger: logger
            )
            // Emptied first: one transaction may flush twice (the stream's changes, then a chunk).
            try await connection.execute("TRUNCATE pg_temp.\"\(staging)\"", logger: logger)
            try await copy(writes.updates, into: staging, columns: columns)
            let sets = (attributeNames + [entity.eventTimeColumn.normalized]).map { "\"\($0)\" = u.\"\($0)\"" }
            let changed = try await connection.changing(
                "UPDATE \(schema.current) c SET \(sets.joined(separator: ", ")) FROM pg_temp.\"\(staging)\" u WHERE "
                    + schema.keysEqual("c", "u"),
                logger: logger
            )
            guard changed == writes.updates.count else {
                throw WarehouseError.statementFailed(
                    sql: "UPDATE … SCD1",
                    reason:
                        "\(writes.updates.count - changed) of \(writes.updates.count) keys with an open version have no SCD1 row"
                )
            }
        }
    }

    /// Binds `keys` as one array per key column (`$1`, `$2`, …) and returns the `unnest(…)`
    /// that reads them back as rows `alias(k0, k1, …)`, with their 1-based `position` when
    /// `ordinal`.
    func keyArrays(
        _ keys: [Key],
        alias: String,
        ordinal: Bool,
        texts: [(name: String, values: [String])] = []
    ) -> (PostgresBindings, String) {
        let columns = schema.entity.keyColumns
        var binds = PostgresBindings()
        for (column, definition) in columns.enumerated() {
            if definition.type == .integer || definition.type == .boolean {
                binds.append(
                    keys.map { key -> Int64 in
                        if columns.count == 1, let number = key.integer { return number }
                        if case .integer(let number) = key.values[column] { return number }
                        return 0
                    }
                )
            } else {
                binds.append(keys.map { $0.values[column].description })
            }
        }
        for text in texts { binds.append(text.values) }
        let names = (0..<columns.count).map { "k\($0)" } + texts.map(\.name) + (ordinal ? ["position"] : [])
        let arrays =
            ((0..<columns.count).map { "$\($0 + 1)::\(schema.keyArrayTypes[$0])" }
            + texts.indices.map { "$\(columns.count + $0 + 1)::text[]" }).joined(separator: ", ")
        return (
            binds, "unnest(\(arrays))\(ordinal ? " WITH ORDINALITY" : "") AS \(alias)(\(names.joined(separator: ", ")))"
        )
    }

    // MARK: COPY

    /// Copies rows into a table (unqualified: the connection's search path finds it).
    func copy(_ rows: PostgresCopyRows, into table: String, columns: [String]) async throws {
        let buffer = rows.buffer
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            try await writer.write(buffer)
        }
    }
}
