import FirnCore
import FirnSQLiteWarehouse
import FirnWarehouse
import GRDB

/// The benchmark's yardstick: the seed's Snowflake SCD1/SCD2 logic ported to plain set-based
/// SQL on the same SQLite engine, in its own database file.
///
/// Each batch is one transaction (WAL, `synchronous=FULL` when durable, as Firn):
/// 1. stage: the batch's rows are inserted into `customer_raw` (kept, like Firn's staging);
/// 2. SCD1: keys whose latest row in the batch (`ROW_NUMBER()` per key by event time, then
///    row) is a delete are deleted from `customer`; the others are upserted with
///    `INSERT … ON CONFLICT DO UPDATE`;
/// 3. SCD2: the open versions of the batch's keys are closed at the key's earliest event time
///    in the batch (`UPDATE … FROM` a grouped subquery), then every upsert row of the batch
///    becomes a version that ends at the next row of its key (`LEAD()`), or stays open.
///
/// Like a straightforward port, it assumes in-order batches: a late record, an upsert equal
/// to the version in force, or equal event times of one key are not handled as Firn's contract
/// requires. The benchmark's workload has none of these, so both must end with equal tables.
final class PlainSQLBaseline: PlainSQLPort {
    let path: String
    private let pool: DatabasePool

    static let attributes = ["first_name", "last_name", "email", "street", "city", "state", "country"]
    static let openEnd = Timestamp.openEnd.description

    /// Creates (replacing nothing: the caller removes old files) the baseline's database, with
    /// the same engine settings as Firn's warehouse: page size, page cache, durability and the
    /// `firn` VFS (``WALWriteCoalescing``) unless `coalescesLogWrites` is off.
    init(
        path: String,
        isDurable: Bool,
        pageSize: Int = SQLiteConfiguration().pageSize,
        cacheSizeMiB: Int = 256,
        coalescesLogWrites: Bool = true
    ) throws {
        self.path = path
        var configuration = Configuration()
        let synchronous = isDurable ? "FULL" : "NORMAL"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA page_size = \(pageSize)")
            try db.execute(sql: "PRAGMA cache_size = -\(cacheSizeMiB * 1024)")
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        }
        let location = coalescesLogWrites ? WALWriteCoalescing.uri(forPath: path) : path
        pool = try DatabasePool(path: location, configuration: configuration)
        try pool.write { db in
            for statement in Self.schema { try db.execute(sql: statement) }
        }
    }

    /// The baseline's database with the engine settings of Firn's `warehouse` configuration.
    convenience init(path: String, isDurable: Bool, like warehouse: SQLiteConfiguration) throws {
        try self.init(
            path: path,
            isDurable: isDurable,
            pageSize: warehouse.pageSize,
            cacheSizeMiB: warehouse.cacheSizeMiB,
            coalescesLogWrites: warehouse.coalescesLogWrites
        )
    }

    static var schema: [String] {
        let attributeDefinitions = attributes.map { "\($0) TEXT" }.joined(separator: ", ")
        return [
            """
            CREATE TABLE IF NOT EXISTS customer_raw (batch_id INTEGER NOT NULL, row_no INTEGER NOT NULL,
                customer_id INTEGER NOT NULL, \(attributeDefinitions), update_timestamp TEXT NOT NULL,
                op TEXT NOT NULL, source_file TEXT NOT NULL, loaded_at TEXT NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS customer_raw_by_batch ON customer_raw (batch_id)",
            """
            CREATE TABLE IF NOT EXISTS customer (customer_id INTEGER PRIMARY KEY, \(attributeDefinitions),
                update_timestamp TEXT)
            """,
            """
            CREATE TABLE IF NOT EXISTS customer_history (customer_id INTEGER NOT NULL, \(attributeDefinitions),
                start_time TEXT NOT NULL, end_time TEXT NOT NULL, is_current INTEGER NOT NULL,
                PRIMARY KEY (customer_id, start_time)) WITHOUT ROWID
            """,
        ]
    }

    static let insertRaw = """
        INSERT INTO customer_raw (batch_id, row_no, customer_id, \(attributes.joined(separator: ", ")),
            update_timestamp, op, source_file, loaded_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// The batch's latest row per key.
    static let latestPerKey = """
        SELECT * FROM (
            SELECT *, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY update_timestamp DESC, row_no DESC) AS rn
            FROM customer_raw WHERE batch_id = ?1
        ) WHERE rn = 1
        """

    static let deleteCurrent = """
        DELETE FROM customer WHERE customer_id IN (SELECT customer_id FROM (\(latestPerKey)) WHERE op = 'D')
        """

    static let upsertCurrent: String = {
        let columns = attributes.joined(separator: ", ")
        let sets = (attributes + ["update_timestamp"]).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return """
            INSERT INTO customer (customer_id, \(columns), update_timestamp)
            SELECT customer_id, \(columns), update_timestamp FROM (\(latestPerKey)) WHERE op <> 'D'
            ON CONFLICT (customer_id) DO UPDATE SET \(sets)
            """
    }()

    static let closeVersions = """
        UPDATE customer_history AS h SET end_time = f.first_time, is_current = 0
        FROM (SELECT customer_id, min(update_timestamp) AS first_time FROM customer_raw WHERE batch_id = ?1
              GROUP BY customer_id) AS f
        WHERE h.customer_id = f.customer_id AND h.is_current = 1
        """

    static let insertVersions: String = {
        let columns = attributes.joined(separator: ", ")
        return """
            INSERT INTO customer_history (customer_id, \(columns), start_time, end_time, is_current)
            SELECT customer_id, \(columns), update_timestamp, coalesce(next_time, '\(openEnd)'), next_time IS NULL
            FROM (
                SELECT *, LEAD(update_timestamp) OVER (PARTITION BY customer_id ORDER BY update_timestamp, row_no)
                    AS next_time
                FROM customer_raw WHERE batch_id = ?1
            ) WHERE op <> 'D'
            """
    }()

    func apply(batchID: Int64, records: [ChangeRecord], sourceFile: String) async throws {
        try await runBlocking { () throws in try self.applyNow(batchID: batchID, records: records, sourceFile: sourceFile) }
    }

    func close() async {}

    /// ``apply(batchID:records:sourceFile:)`` on the calling thread.
    func applyNow(batchID: Int64, records: [ChangeRecord], sourceFile: String) throws {
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                let loadedAt = Timestamp.now().description
                // The same direct binding Firn uses, so the comparison is of the SQL, not the glue.
                let insert = try FastStatement(db, sql: Self.insertRaw)
                for record in records {
                    insert.bind(batchID, at: 1)
                    insert.bind(record.arrival.row, at: 2)
                    insert.bind(record.key, from: 3)
                    let next = insert.bind(record.attributes, from: 4)
                    insert.bind(record.eventTime, at: next)
                    insert.bind(record.operation == .delete ? "D" : "U", at: next + 1)
                    insert.bind(sourceFile, at: next + 2)
                    insert.bind(loadedAt, at: next + 3)
                    try insert.run()
                }
                for sql in [Self.deleteCurrent, Self.upsertCurrent, Self.closeVersions, Self.insertVersions] {
                    try db.cachedStatement(sql: sql).execute(arguments: [batchID])
                }
                return .commit
            }
        }
    }
}
