import FirnCore
import FirnWarehouse
import Logging
import NIOCore
import PostgresNIO

/// Applies a batch of records inside the caller's transaction on PostgreSQL, planned by the
/// shared ``BatchPlan``: staging by `COPY`, one set-based probe of every key the batch touches,
/// per-key reads only for keys with late records, and the changes written set-based (`COPY`
/// into temporary tables, then one statement per table).
struct PostgresBatch {
    let warehouse: PostgresWarehouse
    let connection: PostgresConnection
    var schema: PostgresSchema { warehouse.schema }
    var logger: Logger { warehouse.logger }

    func apply(
        _ records: [ChangeRecord],
        loadID: Int64,
        sourceFile: String,
        loadedAt: Timestamp
    ) async throws -> ApplyCounts {
        guard !records.isEmpty else { return ApplyCounts() }
        var counts = ApplyCounts()
        let clock = ContinuousClock()
        var mark = clock.now
        func lap() -> Double {
            let now = clock.now
            defer { mark = now }
            return (now - mark).seconds
        }
        let width = schema.entity.attributeColumns.count
        let loaded = loadedAt.description
        try await copy(into: schema.entity.rawTable.normalized, columns: schema.rawColumns) { buffer in
            for record in records {
                var row: [Value] = [.integer(loadID), .integer(record.arrival.row)] + record.key.values
                row += Self.padded(record.attributes, to: width)
                row += [.text(record.eventTime.description), .text(record.operation.rawValue), .text(sourceFile), .text(loaded)]
                Self.writeCopyRow(row, to: &buffer)
            }
        }
        counts.staged = records.count
        counts.timings.stage = lap()
        let order = BatchPlan.keyOrder(records)
        var groups = BatchPlan.groups(records, order: order)
        counts.timings.group = lap()
        try await probe(&groups)
        counts.timings.probe = lap()
        var writes = Writes(width: width)
        for group in groups {
            if group.isInOrder {
                counts.inOrderKeys += 1
                let (changes, _) = BatchPlan.reconcileInOrder(group: group, records: records, order: order)
                try await write(changes, storedOpen: group.open?.start, replacingUnchangedFrom: nil, into: &writes, counts: &counts)
            } else {
                counts.recomputedKeys += 1
                let existing = try await versions(of: group.key, endingFrom: group.from)
                let (changes, _) = BatchPlan.replay(
                    key: group.key,
                    existing: existing,
                    unchanged: try await unchangedRecords(of: group.key, from: group.from),
                    records: group.range.map { records[order[$0]] },
                    from: group.from
                )
                try await write(
                    changes,
                    storedOpen: existing.last.flatMap { $0.isCurrent ? $0.start : nil },
                    replacingUnchangedFrom: group.from,
                    into: &writes,
                    counts: &counts
                )
            }
        }
        try await flush(writes)
        counts.timings.write = lap()
        return counts
    }

    // MARK: Probing

    /// Sets ``KeyGroup/isInOrder`` and ``KeyGroup/open`` of every group in one query: each key's
    /// SCD1 row (its open version), its latest closed version and its latest unchanged record.
    func probe(_ groups: inout [KeyGroup]) async throws {
        guard !groups.isEmpty else { return }
        let keyCount = schema.keys.count
        let width = schema.attributes.count
        let (binds, unnest) = keyArrays(groups.map(\.key), alias: "p", ordinal: true)
        let names = (0..<keyCount).map { "k\($0)" }
        let match: (String) -> String = { alias in
            zip(schema.keys, names).map { "\(alias).\($0) = p.\($1)" }.joined(separator: " AND ")
        }
        let sql = """
            SELECT p.position, c.\(schema.eventTime) IS NOT NULL AS live,
                \(schema.attributes.map { "c.\($0), " }.joined())c.\(schema.eventTime),
                h.start_time, h.end_time, u.latest
            FROM \(unnest)
            LEFT JOIN \(schema.current) c ON \(match("c"))
            LEFT JOIN LATERAL (SELECT start_time, end_time FROM \(schema.closed) x WHERE \(match("x"))
                ORDER BY start_time DESC LIMIT 1) h ON true
            LEFT JOIN LATERAL (SELECT max(\(schema.eventTime)) AS latest FROM \(schema.unchanged) y WHERE \(match("y"))) u
                ON true
            """
        for row in try await connection.rows(sql, binds, logger: logger) {
            let cells = Array(row)
            let index = Int(try cells[0].decode(Int64.self)) - 1
            let live = try cells[1].decode(Bool.self)
            let from = groups[index].from
            if live {
                let start = Timestamp(canonical: try cells[2 + width].decode(String?.self) ?? "")
                if let start, start < from {
                    groups[index].open = Version(
                        key: groups[index].key,
                        attributes: (0..<width).map { cells[2 + $0].value },
                        start: start,
                        end: nil
                    )
                } else {
                    groups[index].isInOrder = false
                }
            } else if let startText = try cells[3 + width].decode(String?.self),
                let start = Timestamp(canonical: startText)
            {
                let end = try cells[4 + width].decode(String?.self).flatMap(Timestamp.init(canonical:))
                if start >= from || end.map({ $0 >= from }) != false { groups[index].isInOrder = false }
            }
            if groups[index].isInOrder, let latest = try cells[5 + width].decode(String?.self),
                let time = Timestamp(canonical: latest), time >= from
            {
                groups[index].isInOrder = false
                groups[index].open = nil
            }
        }
    }

    /// A key's versions that end at or after `from`, or are open, oldest first.
    func versions(of key: Key, endingFrom from: Timestamp) async throws -> [Version] {
        var binds = PostgresBindings(values: key.values)
        binds.append(from.description)
        let width = schema.attributes.count
        return try await connection.rows(schema.versionsEndingFrom(), binds, logger: logger).map { row in
            let cells = Array(row)
            let end = try cells[width + 1].decode(String.self)
            return Version(
                key: key,
                attributes: (0..<width).map { cells[$0].value },
                start: Timestamp(canonical: try cells[width].decode(String.self)) ?? Timestamp(microseconds: 0),
                end: end == Timestamp.openEnd.description ? nil : Timestamp(canonical: end)
            )
        }
    }

    /// A key's stored unchanged records at or after `from`.
    func unchangedRecords(of key: Key, from: Timestamp) async throws -> [ChangeRecord] {
        var binds = PostgresBindings(values: key.values)
        binds.append(from.description)
        let width = schema.attributes.count
        return try await connection.rows(schema.unchangedRecordsFrom(), binds, logger: logger).map { row in
            let cells = Array(row)
            return ChangeRecord(
                key: key,
                eventTime: Timestamp(canonical: try cells[width].decode(String.self)) ?? Timestamp(microseconds: 0),
                operation: try cells[width + 1].decode(String.self) == Operation.delete.rawValue ? .delete : .upsert,
                attributes: (0..<width).map { cells[$0].value },
                arrival: Arrival(load: try cells[width + 2].decode(Int64.self), row: try cells[width + 3].decode(Int64.self))
            )
        }
    }

    // MARK: Writing

    /// Rows gathered for the set-based writes at the end of the batch.
    struct Writes {
        let width: Int
        var closed: [[Value]] = []
        var upserts: [[Value]] = []
        var deletes: [Key] = []
        var unchanged: [[Value]] = []
    }

    /// One key's changes, as the SQLite writer makes them (see `HistoryWriter`): changes to
    /// stored closed versions and replaced unchanged records at once (only keys with late
    /// records have them), new closed versions and SCD1 rows gathered for ``flush(_:)``.
    func write(
        _ changes: HistoryChanges,
        storedOpen: Timestamp?,
        replacingUnchangedFrom: Timestamp?,
        into writes: inout Writes,
        counts: inout ApplyCounts
    ) async throws {
        let key = changes.key
        let keyCount = key.values.count
        if let from = replacingUnchangedFrom {
            var binds = PostgresBindings(values: key.values)
            binds.append(from.description)
            try await connection.execute(
                "DELETE FROM \(schema.unchanged) WHERE \(schema.keyMatch(from: 1)) AND \(schema.eventTime) >= $\(keyCount + 1)",
                binds,
                logger: logger
            )
        }
        for record in changes.unchanged {
            writes.unchanged.append(
                record.key.values + [.text(record.eventTime.description), .text(record.operation.rawValue)]
                    + Self.padded(record.attributes, to: writes.width) + [.integer(record.arrival.load), .integer(record.arrival.row)]
            )
        }
        for version in changes.deleted where version.start != storedOpen { try await deleteClosed(version) }
        counts.versionsRemoved += changes.deleted.count
        for version in changes.updated {
            try await writeStored(version, storedOpen: storedOpen, attributesChanged: true, into: &writes)
        }
        for version in changes.ended {
            try await writeStored(version, storedOpen: storedOpen, attributesChanged: false, into: &writes)
        }
        for version in changes.inserted where version.end != nil { writes.closed.append(Self.closedRow(version, writes.width)) }
        counts.versionsOpened += changes.inserted.count
        counts.versionsClosed += changes.closedCount
        switch changes.current {
        case .unchanged:
            break
        case .upsert(let version):
            writes.upserts.append(version.key.values + Self.padded(version.attributes, to: writes.width) + [.text(version.start.description)])
            counts.currentUpserted += 1
        case .delete(let key):
            writes.deletes.append(key)
            counts.currentDeleted += 1
        }
    }

    private func writeStored(
        _ version: Version,
        storedOpen: Timestamp?,
        attributesChanged: Bool,
        into writes: inout Writes
    ) async throws {
        switch (version.start == storedOpen, version.end) {
        case (true, nil):
            break
        case (true, .some):
            writes.closed.append(Self.closedRow(version, writes.width))
        case (false, nil):
            try await deleteClosed(version)
        case (false, let end?):
            var binds = PostgresBindings()
            var sets: [String] = []
            if attributesChanged {
                for (index, value) in Self.padded(version.attributes, to: writes.width).enumerated() {
                    binds.append(value: value)
                    sets.append("\(schema.attributes[index]) = $\(index + 1)")
                }
            }
            binds.append(end.description)
            sets.append("end_time = $\(sets.count + 1)")
            let keyStart = sets.count + 1
            for value in version.key.values { binds.append(value: value) }
            binds.append(version.start.description)
            let changed = try await connection.changing(
                "UPDATE \(schema.closed) SET \(sets.joined(separator: ", ")) WHERE \(schema.keyMatch(from: keyStart)) "
                    + "AND start_time = $\(keyStart + version.key.values.count)",
                binds,
                logger: logger
            )
            guard changed == 1 else {
                throw WarehouseError.statementFailed(
                    sql: "UPDATE … closed history",
                    reason: "no closed version of \(version.key) starts at \(version.start)"
                )
            }
        }
    }

    private func deleteClosed(_ version: Version) async throws {
        var binds = PostgresBindings(values: version.key.values)
        binds.append(version.start.description)
        try await connection.execute(
            "DELETE FROM \(schema.closed) WHERE \(schema.keyMatch(from: 1)) AND start_time = $\(version.key.values.count + 1)",
            binds,
            logger: logger
        )
    }

    static func closedRow(_ version: Version, _ width: Int) -> [Value] {
        version.key.values + padded(version.attributes, to: width)
            + [.text(version.start.description), .text((version.end ?? .openEnd).description)]
    }

    /// The gathered rows, one statement per table: closed versions and unchanged records
    /// appended by `COPY`, SCD1 rows copied into a temporary table and merged, deleted keys
    /// removed in one statement.
    func flush(_ writes: Writes) async throws {
        let entity = schema.entity
        let keyNames = entity.keyColumns.map(\.name.normalized)
        let attributeNames = entity.attributeColumns.map(\.name.normalized)
        if !writes.closed.isEmpty {
            try await copy(into: entity.closedHistoryTable.normalized, columns: keyNames + attributeNames + ["start_time", "end_time"]) {
                buffer in for row in writes.closed { Self.writeCopyRow(row, to: &buffer) }
            }
        }
        if !writes.unchanged.isEmpty {
            try await copy(
                into: entity.unchangedTable.normalized,
                columns: keyNames + [entity.eventTimeColumn.normalized, entity.operationColumn.normalized] + attributeNames
                    + ["chunk_id", "source_row"]
            ) { buffer in for row in writes.unchanged { Self.writeCopyRow(row, to: &buffer) } }
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
        if !writes.upserts.isEmpty {
            let staging = "firn_upserts_" + entity.name.normalized
            try await connection.execute(
                "CREATE TEMP TABLE IF NOT EXISTS \"\(staging)\" (LIKE \(schema.current)) ON COMMIT DELETE ROWS",
                logger: logger
            )
            let columns = keyNames + attributeNames + [entity.eventTimeColumn.normalized]
            try await copy(into: staging, columns: columns) { buffer in
                for row in writes.upserts { Self.writeCopyRow(row, to: &buffer) }
            }
            let quoted = columns.map { "\"\($0)\"" }
            let updates = (attributeNames + [entity.eventTimeColumn.normalized]).map { "\"\($0)\" = excluded.\"\($0)\"" }
            try await connection.execute(
                "INSERT INTO \(schema.current) (\(quoted.joined(separator: ", "))) SELECT \(quoted.joined(separator: ", ")) "
                    + "FROM pg_temp.\"\(staging)\" ON CONFLICT (\(schema.keyList)) DO UPDATE SET "
                    + updates.joined(separator: ", "),
                logger: logger
            )
        }
    }

    /// Binds `keys` as one array per key column (`$1`, `$2`, …) and returns the `unnest(…)`
    /// that reads them back as rows `alias(k0, k1, …)`, with their 1-based `position` when
    /// `ordinal`.
    func keyArrays(_ keys: [Key], alias: String, ordinal: Bool) -> (PostgresBindings, String) {
        let columns = schema.entity.keyColumns
        var binds = PostgresBindings()
        for (column, definition) in columns.enumerated() {
            if definition.type == .integer || definition.type == .boolean {
                binds.append(keys.map { key -> Int64 in
                    if case .integer(let number) = key.values[column] { return number }
                    return 0
                })
            } else {
                binds.append(keys.map { $0.values[column].description })
            }
        }
        let names = (0..<columns.count).map { "k\($0)" } + (ordinal ? ["position"] : [])
        let arrays = (0..<columns.count).map { "$\($0 + 1)::\(schema.keyArrayTypes[$0])" }.joined(separator: ", ")
        return (binds, "unnest(\(arrays))\(ordinal ? " WITH ORDINALITY" : "") AS \(alias)(\(names.joined(separator: ", ")))")
    }

    // MARK: COPY

    /// Copies rows into a table (unqualified: the connection's search path finds it).
    func copy(into table: String, columns: [String], rows: (inout ByteBuffer) -> Void) async throws {
        var buffer = ByteBuffer()
        rows(&buffer)
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            try await writer.write(buffer)
        }
    }

    /// One row in COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
    static func writeCopyRow(_ row: [Value], to buffer: inout ByteBuffer) {
        for (index, value) in row.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
            switch value {
            case .null:
                buffer.writeStaticString("\\N")
            case .integer(let number):
                buffer.writeString(String(number))
            case .text(let text):
                for byte in text.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                    case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
                    case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
                    case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
                    default: buffer.writeInteger(byte)
                    }
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// Attributes padded with NULL to the entity's width (a delete may carry none).
    static func padded(_ attributes: [Value], to width: Int) -> [Value] {
        attributes.count >= width ? Array(attributes.prefix(width)) : attributes + Array(repeating: .null, count: width - attributes.count)
    }
}
