import FirnCore
import GRDB

/// Writes rows many at a time with multi-row `INSERT … VALUES (…), (…) ON CONFLICT …`
/// statements, so that the per-statement cost (step, reset, VDBE setup) is paid once per
/// ``rowsPerStatement`` rows instead of once per row.
///
/// Used for the in-order path, where each key's writes are an insert of its new versions, an
/// end for its previous open version, and an SCD1 upsert: rows of different keys, so their
/// order does not matter. Call ``flush()`` before the transaction ends.
final class BufferedUpsert {
    /// Rows bound into one statement: `64`.
    static let rowsPerStatement = 64

    private let db: Database
    private let prefix: String
    private let suffix: String
    private let width: Int
    private var full: FastStatement?
    private var rows: [Row] = []
    private let arena = BindArena()
    /// Attribute columns per row (missing values bind as NULL).
    var attributeCount = 0

    /// One buffered row.
    enum Row {
        case version(Version)
        case current(Version)
    }

    init(db: Database, table: String, columns: [String], conflict: String, width: Int) {
        self.db = db
        self.prefix = "INSERT OR FAIL INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
        self.suffix = " " + conflict
        self.width = width
    }

    func sql(rows count: Int) -> String {
        let row = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
        return prefix + Array(repeating: row, count: count).joined(separator: ", ") + suffix
    }

    /// Buffers a row; runs a full statement when ``rowsPerStatement`` are buffered.
    func append(_ row: Row) throws {
        rows.append(row)
        if rows.count == Self.rowsPerStatement { try flush() }
    }

    /// Writes every buffered row.
    func flush() throws {
        guard !rows.isEmpty else { return }
        let statement: FastStatement
        if rows.count == Self.rowsPerStatement {
            if full == nil { full = try FastStatement(db, sql: sql(rows: Self.rowsPerStatement)) }
            statement = full!
        } else {
            statement = try FastStatement(db, sql: sql(rows: rows.count))
        }
        var index: Int32 = 1
        let openEnd = arena.keep(BatchApplier.openEndText)
        for row in rows {
            switch row {
            case .version(let version):
                index = statement.bind(version.key, from: index, arena: arena)
                index = statement.bind(version.attributes, from: index, count: attributeCount, arena: arena)
                statement.bind(version.start, at: index, arena: arena)
                if let end = version.end {
                    statement.bind(end, at: index + 1, arena: arena)
                    statement.bind(0, at: index + 2)
                } else {
                    statement.bind(kept: openEnd, at: index + 1)
                    statement.bind(1, at: index + 2)
                }
                index += 3
            case .current(let version):
                index = statement.bind(version.key, from: index, arena: arena)
                index = statement.bind(version.attributes, from: index, count: attributeCount, arena: arena)
                statement.bind(version.start, at: index, arena: arena)
                index += 1
            }
        }
        rows.removeAll(keepingCapacity: true)
        defer { arena.reset() }
        try statement.runClearingBindings()
    }
}

extension EntitySchema {
    /// Ends `rows` stored versions: parameters per row the key columns, `start_time`,
    /// `end_time`, `is_current`.
    func endVersions(rows: Int) -> String {
        let width = keys.count + 3
        let row = "(" + placeholders(width) + ")"
        let keyMatch = keys.enumerated().map { "\(history).\($1) = v.column\($0 + 1)" }
        return
            "UPDATE OR FAIL \(history) SET end_time = v.column\(keys.count + 2), is_current = v.column\(keys.count + 3) "
            + "FROM (VALUES " + Array(repeating: row, count: rows).joined(separator: ", ") + ") AS v "
            + "WHERE " + (keyMatch + ["\(history).start_time = v.column\(keys.count + 1)"]).joined(separator: " AND ")
    }

    /// Versions, many per statement: a new version is inserted; a stored one (same key and
    /// start) only has its end and `is_current` set, so its attributes need not be known.
    func bufferedVersions(_ db: Database) -> BufferedUpsert {
        let buffer = BufferedUpsert(
            db: db,
            table: history,
            columns: keys + attributes + ["start_time", "end_time", "is_current"],
            conflict: "ON CONFLICT (\(keyList), start_time) DO UPDATE SET end_time = excluded.end_time, "
                + "is_current = excluded.is_current",
            width: keys.count + attributes.count + 3
        )
        buffer.attributeCount = attributes.count
        return buffer
    }

    /// SCD1 rows, many per statement: inserted, or updated when the key is already live.
    func bufferedCurrent(_ db: Database) -> BufferedUpsert {
        let sets = (attributes + [eventTime]).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        let buffer = BufferedUpsert(
            db: db,
            table: current,
            columns: keys + attributes + [eventTime],
            conflict: "ON CONFLICT (\(keyList)) DO UPDATE SET \(sets)",
            width: keys.count + attributes.count + 1
        )
        buffer.attributeCount = attributes.count
        return buffer
    }
}

/// Appends records to staging many rows per statement (``BufferedUpsert/rowsPerStatement``),
/// as `INSERT OR FAIL` (a failure rolls back the whole transaction anyway, so SQLite needs no
/// statement journal). Call ``flush()`` before the transaction ends.
final class StagingWriter {
    private let db: Database
    private let schema: EntitySchema
    private let loadID: Int64
    private let sourceFile: String
    private let loadedAt: String
    private let width: Int
    private var full: FastStatement?
    private var rows: [ChangeRecord] = []
    private let arena = BindArena()

    init(db: Database, schema: EntitySchema, loadID: Int64, sourceFile: String, loadedAt: String) {
        self.db = db
        self.schema = schema
        self.loadID = loadID
        self.sourceFile = sourceFile
        self.loadedAt = loadedAt
        self.width = schema.rawColumns.count
        rows.reserveCapacity(BufferedUpsert.rowsPerStatement)
    }

    /// Buffers a record; runs a full statement when enough are buffered.
    func append(_ record: ChangeRecord) throws {
        rows.append(record)
        if rows.count == BufferedUpsert.rowsPerStatement { try flush() }
    }

    /// Writes every buffered record.
    func flush() throws {
        guard !rows.isEmpty else { return }
        let statement: FastStatement
        if rows.count == BufferedUpsert.rowsPerStatement {
            if full == nil { full = try FastStatement(db, sql: schema.insertRaw(rows: rows.count)) }
            statement = full!
        } else {
            statement = try FastStatement(db, sql: schema.insertRaw(rows: rows.count))
        }
        let attributeCount = schema.attributes.count
        let source = arena.keep(sourceFile)
        let loaded = arena.keep(loadedAt)
        var index: Int32 = 1
        for record in rows {
            statement.bind(loadID, at: index)
            statement.bind(record.arrival.row, at: index + 1)
            index = statement.bind(record.key, from: index + 2, arena: arena)
            index = statement.bind(record.attributes, from: index, count: attributeCount, arena: arena)
            statement.bind(record.eventTime, at: index, arena: arena)
            statement.bind(record.operation.rawValue, at: index + 1, arena: arena)
            statement.bind(kept: source, at: index + 2)
            statement.bind(kept: loaded, at: index + 3)
            index += 4
        }
        rows.removeAll(keepingCapacity: true)
        defer { arena.reset() }
        try statement.runClearingBindings()
    }
}

/// Ends stored versions many per statement: `UPDATE … FROM (VALUES …)` matched by key and
/// start, setting only `end_time` and `is_current` (no attributes bound, no insert attempted).
final class BufferedEnds {
    private let db: Database
    private let schema: EntitySchema
    private var full: FastStatement?
    private var rows: [Version] = []
    private let arena = BindArena()

    init(db: Database, schema: EntitySchema) {
        self.db = db
        self.schema = schema
        rows.reserveCapacity(BufferedUpsert.rowsPerStatement)
    }

    func append(_ version: Version) throws {
        rows.append(version)
        if rows.count == BufferedUpsert.rowsPerStatement { try flush() }
    }

    func flush() throws {
        guard !rows.isEmpty else { return }
        let statement: FastStatement
        if rows.count == BufferedUpsert.rowsPerStatement {
            if full == nil { full = try FastStatement(db, sql: schema.endVersions(rows: rows.count)) }
            statement = full!
        } else {
            statement = try FastStatement(db, sql: schema.endVersions(rows: rows.count))
        }
        let openEnd = arena.keep(BatchApplier.openEndText)
        var index: Int32 = 1
        for version in rows {
            index = statement.bind(version.key, from: index, arena: arena)
            statement.bind(version.start, at: index, arena: arena)
            if let end = version.end {
                statement.bind(end, at: index + 1, arena: arena)
                statement.bind(0, at: index + 2)
            } else {
                statement.bind(kept: openEnd, at: index + 1)
                statement.bind(1, at: index + 2)
            }
            index += 3
        }
        rows.removeAll(keepingCapacity: true)
        defer { arena.reset() }
        try statement.runClearingBindings()
    }
}
