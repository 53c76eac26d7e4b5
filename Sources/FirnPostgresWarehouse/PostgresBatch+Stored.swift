import FirnCore
import FirnWarehouse
import PostgresNIO

// Keys with late records: their stored versions and unchanged records are read for all of them
// in one query each, replayed in memory, and the stored rows they change are written in one
// statement per kind. A batch with many late keys (several workers committing batches out of
// order, or a late file) then costs a handful of round trips, not several per key.
extension PostgresBatch {
    /// Changes to stored rows (closed versions other than SCD1's open one, unchanged records)
    /// gathered over all keys of a batch, for ``flushStored(_:)``.
    struct StoredWrites {
        let width: Int
        /// Keys whose unchanged records from a time on are replaced (key, from).
        var unchangedFrom: [(key: Key, from: Timestamp)] = []
        /// Closed versions to remove (key, start).
        var closedDeleted: [(key: Key, start: Timestamp)] = []
        /// Closed versions whose attributes and end change: rows of closed history.
        var closedUpdated = PostgresCopyRows()
    }

    /// Every group's versions that end at or after its ``KeyGroup/from``, and its open version,
    /// oldest first: one query for all of them.
    func versions(of groups: [KeyGroup]) async throws -> [[Version]] {
        var result = [[Version]](repeating: [], count: groups.count)
        guard !groups.isEmpty else { return result }
        let width = schema.attributes.count
        let (binds, unnest) = groupArrays(groups)
        let attributes = { (alias: String) in schema.attributes.map { "\(alias).\($0), " }.joined() }
        let sql = """
            SELECT p.position, \(attributes("x"))x.start_time, x.end_time FROM \(unnest)
            JOIN \(schema.closed) x ON \(match("x")) AND x.end_time >= p.since
            UNION ALL
            SELECT p.position, \(attributes("c"))c.\(schema.eventTime), \(PostgresSchema.openEndSQL)::text FROM \(unnest)
            JOIN \(schema.current) c ON \(match("c"))
            ORDER BY 1, \(width + 2)
            """
        for row in try await connection.rows(sql, binds, logger: logger) {
            let cells = Array(row)
            let index = Int(try cells[0].decode(Int64.self)) - 1
            let end = try cells[width + 2].decode(String.self)
            result[index].append(
                Version(
                    key: groups[index].key,
                    attributes: (0..<width).map { cells[1 + $0].value },
                    start: Timestamp(canonical: try cells[width + 1].decode(String.self)) ?? Timestamp(microseconds: 0),
                    end: end == Timestamp.openEnd.description ? nil : Timestamp(canonical: end)
                )
            )
        }
        return result
    }

    /// Every group's stored unchanged records at or after its ``KeyGroup/from``: one query.
    func unchangedRecords(of groups: [KeyGroup]) async throws -> [[ChangeRecord]] {
        var result = [[ChangeRecord]](repeating: [], count: groups.count)
        guard !groups.isEmpty else { return result }
        let width = schema.attributes.count
        let (binds, unnest) = groupArrays(groups)
        let sql = """
            SELECT p.position, \(schema.attributes.map { "y.\($0), " }.joined())y.\(schema.eventTime), y.\(schema.op),
                y.chunk_id, y.source_row
            FROM \(unnest) JOIN \(schema.unchanged) y ON \(match("y")) AND y.\(schema.eventTime) >= p.since
            """
        for row in try await connection.rows(sql, binds, logger: logger) {
            let cells = Array(row)
            let index = Int(try cells[0].decode(Int64.self)) - 1
            result[index].append(
                ChangeRecord(
                    key: groups[index].key,
                    eventTime: Timestamp(canonical: try cells[width + 1].decode(String.self))
                        ?? Timestamp(microseconds: 0),
                    operation: try cells[width + 2].decode(String.self) == Operation.delete.rawValue
                        ? .delete : .upsert,
                    attributes: (0..<width).map { cells[1 + $0].value },
                    arrival: Arrival(
                        load: try cells[width + 3].decode(Int64.self),
                        row: try cells[width + 4].decode(Int64.self)
                    )
                )
            )
        }
        return result
    }

    /// Gathers one key's changes to stored rows (those ``isAppendOnly(_:storedOpen:)`` rules
    /// out) into `stored`; the rest goes to `writes` as for any key.
    func collect(
        _ changes: HistoryChanges,
        storedOpen: Timestamp?,
        replacingUnchangedFrom: Timestamp?,
        into writes: inout Writes,
        stored: inout StoredWrites,
        counts: inout ApplyCounts
    ) {
        if let from = replacingUnchangedFrom { stored.unchangedFrom.append((changes.key, from)) }
        for version in changes.deleted where version.start != storedOpen {
            stored.closedDeleted.append((version.key, version.start))
        }
        // A stored closed version now open is removed (SCD1 holds it); any other is rewritten
        // with its attributes and end (unchanged attributes are written back as they were).
        for version in changes.updated + changes.ended where version.start != storedOpen {
            if let end = version.end {
                stored.closedUpdated.append(key: version.key)
                stored.closedUpdated.append(version.attributes, paddedTo: stored.width)
                stored.closedUpdated.append(timestamp: version.start)
                stored.closedUpdated.append(timestamp: end)
                stored.closedUpdated.endRow()
            } else {
                stored.closedDeleted.append((version.key, version.start))
            }
        }
        Self.gather(changes, storedOpen: storedOpen, into: &writes, counts: &counts)
    }

    /// Writes the gathered changes to stored rows, before ``flush(_:)``: unchanged records
    /// replaced, closed versions removed, closed versions rewritten (each must exist).
    func flushStored(_ stored: StoredWrites) async throws {
        try await deleteMatching(
            schema.unchanged,
            stored.unchangedFrom.map { ($0.key, $0.from) },
            where: "a.\(schema.eventTime) >= p.since"
        )
        try await deleteMatching(
            schema.closed,
            stored.closedDeleted.map { ($0.key, $0.start) },
            where: "a.start_time = p.since"
        )
        if stored.closedUpdated.count > 0 {
            let entity = schema.entity
            // Named by the shape too: a connection keeps its temporary tables.
            let table = "firn_closed_updates_\(entity.name.normalized)_\(schema.storageTag)"
            let keyNames = entity.keyColumns.map(\.name.normalized)
            let attributeNames = entity.attributeColumns.map(\.name.normalized)
            try await connection.execute(
                "CREATE TEMP TABLE IF NOT EXISTS \"\(table)\" (LIKE \(schema.closed)) ON COMMIT DELETE ROWS",
                logger: logger
            )
            try await connection.execute("TRUNCATE pg_temp.\"\(table)\"", logger: logger)
            try await copy(
                stored.closedUpdated,
                into: table,
                columns: keyNames + attributeNames + ["start_time", "end_time"]
            )
            let sets = (attributeNames + ["end_time"]).map { "\"\($0)\" = u.\"\($0)\"" }
            let changed = try await connection.changing(
                "UPDATE \(schema.closed) x SET \(sets.joined(separator: ", ")) FROM pg_temp.\"\(table)\" u WHERE "
                    + schema.keysEqual("x", "u") + " AND x.start_time = u.start_time",
                logger: logger
            )
            guard changed == stored.closedUpdated.count else {
                throw WarehouseError.statementFailed(
                    sql: "UPDATE … closed history",
                    reason:
                        "\(stored.closedUpdated.count - changed) of \(stored.closedUpdated.count) closed versions to rewrite are not stored"
                )
            }
        }
    }

    /// The groups bound as arrays, read back as rows `p(k0, …, since, position)`: each key, its
    /// earliest new event time and its 1-based position in `groups`.
    private func groupArrays(_ groups: [KeyGroup]) -> (PostgresBindings, String) {
        keyArrays(groups.map(\.key), alias: "p", ordinal: true, texts: [("since", groups.map(\.from.description))])
    }

    /// Deletes, in one statement, the rows of `table` (aliased `a`) of each pair's key for
    /// which `condition` holds, the pair's time being `p.since`.
    private func deleteMatching(_ table: String, _ pairs: [(Key, Timestamp)], where condition: String) async throws {
        guard !pairs.isEmpty else { return }
        let (binds, unnest) = keyArrays(
            pairs.map(\.0),
            alias: "p",
            ordinal: false,
            texts: [("since", pairs.map(\.1.description))]
        )
        try await connection.execute(
            "DELETE FROM \(table) a USING \(unnest) WHERE \(match("a")) AND \(condition)",
            binds,
            logger: logger
        )
    }

    /// `alias.k = p.kN AND …` for the key columns against an `unnest` aliased `p`.
    private func match(_ alias: String) -> String {
        schema.keys.enumerated().map { "\(alias).\($1) = p.k\($0)" }.joined(separator: " AND ")
    }
}
