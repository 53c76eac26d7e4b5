import FirnCore
import FirnWarehouse
import GRDB

/// Writes rows many at a time with multi-row statements (`INSERT … VALUES (…), (…)`), so that
/// the per-statement cost (step, reset, VDBE setup) is paid once per ``rowsPerStatement`` rows
/// instead of once per row.
///
/// Used for staging, the versions a batch closes and SCD1 inserts and updates: rows of
/// different keys, so their order does not matter. Every statement is `OR FAIL`: a failure rolls the whole transaction back
/// anyway, so SQLite keeps no statement journal (a copy of every page a statement touches).
/// SCD1 rows of live keys are the exception: an upsert, whose `DO UPDATE` may always abort and
/// so keeps the journal, measured faster here than `UPDATE … FROM (VALUES …)` all the same
/// (B=10k 91-96k rows/s against 88-90k). Call ``flush()`` before the transaction ends.
final class BufferedWrite {
    /// Rows bound into one statement: `64`.
    static let rowsPerStatement = 64

    private let db: Database
    private let sql: @Sendable (Int) -> String
    private var full: FastStatement?
    private var rows: [Row] = []
    private let arena = BindArena()
    /// Attribute columns per row (missing values bind as NULL).
    let attributeCount: Int

    /// One buffered row.
    enum Row {
        /// Key, attributes, `start_time`, `end_time` (a closed version).
        case version(Version)
        /// Key, attributes, the event-time column.
        case current(Version)
        /// A staging row (see ``Staging``).
        case staged(ChangeRecord)
    }

    /// What every staging row of a batch shares: `load_id`, `source_file`, `loaded_at`.
    struct Staging {
        var loadID: Int64
        var sourceFile: String
        var loadedAt: String
    }

    private let staging: Staging?

    /// - Parameters:
    ///   - sql: The statement for a number of rows.
    init(
        db: Database,
        attributeCount: Int,
        staging: Staging? = nil,
        sql: @escaping @Sendable (Int) -> String
    ) {
        self.staging = staging
        self.db = db
        self.attributeCount = attributeCount
        self.sql = sql
        rows.reserveCapacity(Self.rowsPerStatement)
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
            if full == nil { full = try FastStatement(db, sql: sql(Self.rowsPerStatement)) }
            statement = full!
        } else {
            statement = try FastStatement(db, sql: sql(rows.count))
        }
        var index: Int32 = 1
        let source = staging.map { arena.keep($0.sourceFile) }
        let loaded = staging.map { arena.keep($0.loadedAt) }
        for row in rows {
            switch row {
            case .version(let version):
                index = statement.bind(version.key, from: index, arena: arena)
                index = statement.bind(version.attributes, from: index, count: attributeCount, arena: arena)
                guard let end = version.end else { preconditionFailure("an open version has no closed-history row") }
                statement.bind(version.start, at: index, arena: arena)
                statement.bind(end, at: index + 1, arena: arena)
                index += 2
            case .current(let version):
                index = statement.bind(version.key, from: index, arena: arena)
                index = statement.bind(version.attributes, from: index, count: attributeCount, arena: arena)
                statement.bind(version.start, at: index, arena: arena)
                index += 1
            case .staged(let record):
                guard let staging, let source, let loaded else { preconditionFailure("a staging row needs Staging") }
                statement.bind(staging.loadID, at: index)
                statement.bind(record.arrival.row, at: index + 1)
                index = statement.bind(record.key, from: index + 2, arena: arena)
                index = statement.bind(record.attributes, from: index, count: attributeCount, arena: arena)
                statement.bind(record.eventTime, at: index, arena: arena)
                statement.bind(record.operation.rawValue, at: index + 1, arena: arena)
                statement.bind(kept: source, at: index + 2)
                statement.bind(kept: loaded, at: index + 3)
                index += 4
            }
        }
        rows.removeAll(keepingCapacity: true)
        defer { arena.reset() }
        try statement.runClearingBindings()
    }
}

extension EntitySchema {
    /// `INSERT OR FAIL INTO table (columns) VALUES (…), …`.
    func insertValues(table: String, columns: [String], rows: Int) -> String {
        let row = "(" + placeholders(columns.count) + ")"
        return "INSERT OR FAIL INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
            + Array(repeating: row, count: rows).joined(separator: ", ")
    }

    /// Staging rows of one batch, many per statement.
    func bufferedStaging(_ db: Database, _ staging: BufferedWrite.Staging) -> BufferedWrite {
        BufferedWrite(db: db, attributeCount: attributes.count, staging: staging) { [self] rows in
            insertValues(table: raw, columns: rawColumns, rows: rows)
        }
    }

    /// SCD1 rows of keys not live before, many per statement.
    func bufferedNewCurrent(_ db: Database) -> BufferedWrite {
        let columns = keys + attributes + [eventTime]
        return BufferedWrite(db: db, attributeCount: attributes.count) { [self] rows in
            insertValues(table: current, columns: columns, rows: rows)
        }
    }

    /// SCD1 rows of live keys, many per statement (an upsert; see ``BufferedWrite``).
    func bufferedCurrentUpdates(_ db: Database) -> BufferedWrite {
        let columns = keys + attributes + [eventTime]
        let sets = (attributes + [eventTime]).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return BufferedWrite(db: db, attributeCount: attributes.count) { [self] rows in
            insertValues(table: current, columns: columns, rows: rows)
                + " ON CONFLICT (\(keyList)) DO UPDATE SET \(sets)"
        }
    }
}
