import FirnCore
import FirnPostgresWarehouse
import Logging
import NIOCore
import PostgresNIO

/// The seed's Snowflake SCD1/SCD2 logic as a PostgreSQL user would port it: plain set-based
/// SQL in a schema of its own, one transaction per batch:
/// 1. `COPY` of the batch into `customer_raw` (kept, like Firn's staging);
/// 2. one `MERGE` into `customer` of each key's latest row in the batch (`ROW_NUMBER()` by
///    event time, then row): deleted when it is a delete, else updated or inserted;
/// 3. SCD2: the open versions of the batch's keys are closed at the key's earliest event time
///    in the batch (`UPDATE … FROM` a grouped subquery, through a partial index on open
///    versions), then every upsert row becomes a version ending at the next row of its key
///    (`LEAD()`), or open.
///
/// Event times are `timestamp` columns, as the seed's are. Like any straightforward port it
/// assumes in-order batches (see ``PlainSQLBaseline``); the benchmark's workload has none
/// that are not.
final class PostgresPlainSQL: PlainSQLPort {
    let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger

    static let attributes = PlainSQLBaseline.attributes

    /// Connects to `location` (its schema must exist and be empty) and creates the tables.
    init(location: PostgresLocation, logger: Logger) async throws {
        var background = logger
        background.logLevel = .error
        client = PostgresClient(configuration: try location.clientConfiguration(maximumConnections: 1), backgroundLogger: background)
        let client = self.client
        runner = Task { await client.run() }
        self.logger = logger
        do {
            try await client.withConnection { connection in
                for statement in Self.schema {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).get()
                }
            }
        } catch {
            runner.cancel()
            throw error
        }
    }

    static var schema: [String] {
        let attributeDefinitions = attributes.map { "\($0) text" }.joined(separator: ", ")
        return [
            """
            CREATE TABLE customer_raw (batch_id bigint NOT NULL, row_no bigint NOT NULL,
                customer_id bigint NOT NULL, \(attributeDefinitions), update_timestamp timestamp NOT NULL,
                op text NOT NULL, source_file text NOT NULL, loaded_at timestamp NOT NULL)
            """,
            "CREATE INDEX customer_raw_by_batch ON customer_raw (batch_id)",
            "CREATE TABLE customer (customer_id bigint PRIMARY KEY, \(attributeDefinitions), update_timestamp timestamp)",
            """
            CREATE TABLE customer_history (customer_id bigint NOT NULL, \(attributeDefinitions),
                start_time timestamp NOT NULL, end_time timestamp NOT NULL, is_current boolean NOT NULL,
                PRIMARY KEY (customer_id, start_time))
            """,
            "CREATE INDEX customer_history_open ON customer_history (customer_id) WHERE is_current",
        ]
    }

    static let rawColumns =
        ["batch_id", "row_no", "customer_id"] + attributes + ["update_timestamp", "op", "source_file", "loaded_at"]

    static let merge: String = {
        let columns = attributes.joined(separator: ", ")
        let sets = (attributes + ["update_timestamp"]).map { "\($0) = s.\($0)" }.joined(separator: ", ")
        let values = (["customer_id"] + attributes + ["update_timestamp"]).map { "s.\($0)" }.joined(separator: ", ")
        return """
            MERGE INTO customer c
            USING (
                SELECT * FROM (
                    SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY update_timestamp DESC, row_no DESC) AS rn
                    FROM customer_raw WHERE batch_id = $1
                ) latest WHERE rn = 1
            ) s ON c.customer_id = s.customer_id
            WHEN MATCHED AND s.op = 'D' THEN DELETE
            WHEN MATCHED THEN UPDATE SET \(sets)
            WHEN NOT MATCHED AND s.op <> 'D' THEN
                INSERT (customer_id, \(columns), update_timestamp) VALUES (\(values))
            """
    }()

    static let closeVersions = """
        UPDATE customer_history h SET end_time = f.first_time, is_current = false
        FROM (SELECT customer_id, min(update_timestamp) AS first_time FROM customer_raw WHERE batch_id = $1
              GROUP BY customer_id) f
        WHERE h.customer_id = f.customer_id AND h.is_current
        """

    static let insertVersions: String = {
        let columns = attributes.joined(separator: ", ")
        return """
            INSERT INTO customer_history (customer_id, \(columns), start_time, end_time, is_current)
            SELECT customer_id, \(columns), update_timestamp, coalesce(next_time, '9999-12-31'), next_time IS NULL
            FROM (
                SELECT *, lead(update_timestamp) OVER (PARTITION BY customer_id ORDER BY update_timestamp, row_no)
                    AS next_time
                FROM customer_raw WHERE batch_id = $1
            ) r WHERE op <> 'D'
            """
    }()

    func apply(batchID: Int64, records: [ChangeRecord], sourceFile: String) async throws {
        let loadedAt = Value.text(Timestamp.now().description)
        var rows = PostgresCopyRows(reservingBytes: records.count * 160)
        for record in records {
            rows.append(integer: batchID)
            rows.append(integer: record.arrival.row)
            rows.append(record.key.values)
            rows.append(record.attributes, paddedTo: Self.attributes.count)
            rows.append(timestamp: record.eventTime)
            rows.append(text: record.operation == .delete ? "D" : "U")
            rows.append(text: sourceFile)
            rows.append(loadedAt)
            rows.endRow()
        }
        let buffer = rows.buffer
        let logger = self.logger
        try await client.withTransaction(logger: logger) { connection in
            try await connection.copyFrom(table: "customer_raw", columns: Self.rawColumns, logger: logger) { writer in
                try await writer.write(buffer)
            }
            for sql in [Self.merge, Self.closeVersions, Self.insertVersions] {
                var binds = PostgresBindings()
                binds.append(batchID)
                _ = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).get()
            }
        }
    }

    func close() async {
        runner.cancel()
        _ = await runner.value
    }
}
