import FirnCore
import FirnPostgresWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// What is PostgreSQL's own, against the test run's real server: user SQL's guard, a server
/// that is not there, a warehouse from a newer Firn, an entity from an older one, schemas side
/// by side.
@Suite struct PostgresServerTests {
    static func refusal(_ sql: String, on warehouse: any Warehouse, readOnly: Bool = false) async -> String? {
        do {
            _ = try await warehouse.query(sql, readOnly: readOnly)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func userSQLIsGuardedAndRunsAllOrNothing() async throws {
        let test = try await TestWarehouse.open(.postgres)
        let warehouse = test.warehouse
        // Rows in every bookkeeping table: a write that changes nothing changes nothing.
        let rows = [
            Draft(key: 1, time: at(1), operation: .upsert, attributes: person("Ann")),
            Draft(key: 1, time: at(2), operation: .upsert, attributes: person("Bea")),
        ]
        try await test.load(TestFile(name: "a.csv", checksum: "a", rows: rows))
        for sql in ["BEGIN", "COMMIT", "SAVEPOINT a", "SET LOCAL firn.origin = 'pipeline'"] {
            #expect(await Self.refusal(sql, on: warehouse)?.contains("refused") == true, "\(sql)")
        }
        for sql in [
            "DELETE FROM firn_loads", "INSERT INTO firn_rejects (load_id, entity, source_file, source_row, raw_text, "
                + "reason, rejected_at) VALUES (1, 'x', 'x', 1, 'x', 'x', 'x')",
            "UPDATE customer_history_closed SET end_time = 'x'", "DELETE FROM customer_raw",
        ] {
            #expect(await Self.refusal(sql, on: warehouse)?.contains("Firn's own") == true, "\(sql)")
        }
        for sql in [
            "DROP TABLE customer_raw", "ALTER TABLE customer ADD COLUMN x text",
            "CREATE INDEX i ON firn_loads (status)", "DROP TRIGGER customer_stream_capture ON customer",
        ] {
            #expect(await Self.refusal(sql, on: warehouse)?.contains("columns, triggers or indexes") == true, "\(sql)")
        }
        // TRUNCATE fires no row trigger, so it would change SCD1 behind history's back.
        #expect(await Self.refusal("TRUNCATE customer", on: warehouse)?.contains("bypass its history") == true)
        // The user's own tables are theirs; a failing statement rolls back the ones before it.
        _ = try await warehouse.query("CREATE TABLE mine (x bigint); INSERT INTO mine VALUES (1)")
        #expect(await Self.refusal("INSERT INTO mine VALUES (2); INSERT INTO nowhere VALUES (3)", on: warehouse) != nil)
        await #expect(try warehouse.query("SELECT count(*) FROM mine").result.rows == [[.integer(1)]])
        #expect(await Self.refusal("INSERT INTO mine VALUES (2)", on: warehouse, readOnly: true) != nil)
        // Statements split where they end, not inside quotes, dollar quotes or comments.
        let outcome = try await warehouse.query(
            "SELECT 'a;b' AS t -- ; not a statement\n; SELECT $$c;d$$ AS u /* ; */"
        )
        #expect(outcome.result.columns == ["u"])
        #expect(outcome.result.rows == [[.text("c;d")]])
        // SCD1 stays writable, and DML on it reaches history through the stream.
        _ = try await warehouse.query(
            "INSERT INTO customer (customer_id, first_name, update_timestamp) VALUES (7, 'Ada', '2026-01-01 00:00:00.000000')"
        )
        _ = try await warehouse.consumeStream()
        await #expect(
            try warehouse.query("SELECT first_name FROM customer_history WHERE customer_id = 7").result.rows
                == [[.text("Ada")]]
        )
    }

    @Test func aServerThatIsNotThereFailsAtOnceInOneLine() async throws {
        // A port nothing listens on (the test server's port plus one is as good as any free one).
        let location = try PostgresLocation(
            parsing: "postgres://firn:secret@127.0.0.1:1/firn?sslmode=disable",
            environment: [:]
        )
        let started = ContinuousClock.now
        do {
            _ = try await PostgresWarehouse.open(location)
            Issue.record("opened a warehouse on a closed port")
        } catch {
            #expect(ContinuousClock.now - started < .seconds(15))
            #expect(error.description.contains("127.0.0.1:1"), "\(error)")
            #expect(!error.description.contains("secret"))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func aWrongPasswordSaysSoWithoutShowingIt() async throws {
        var location = try await PostgresTestServer.freshSchema()
        location.password = "not-the-password"
        do {
            _ = try await PostgresWarehouse.open(location)
            Issue.record("opened with a wrong password")
        } catch {
            #expect(error.description.contains("password authentication failed"), "\(error)")
            #expect(!error.description.contains("not-the-password"))
        }
    }

    @Test func aNewerSchemaIsRefusedAndReadCommandsCreateNothing() async throws {
        let location = try await PostgresTestServer.freshSchema()
        do {
            _ = try await PostgresWarehouse.open(location, creating: false)
            Issue.record("a read opened a schema with no warehouse")
        } catch {
            #expect(error.description.contains("no Firn warehouse in schema \(location.schema)"), "\(error)")
        }
        let warehouse = try await PostgresWarehouse.open(location)
        try PostgresTestServer.psql(location, "INSERT INTO firn_schema_versions VALUES (99, 'future', 'x')")
        await warehouse.close()
        do {
            _ = try await PostgresWarehouse.open(location)
            Issue.record("a newer schema opened")
        } catch {
            #expect(error.description.contains("newer than this firn knows"), "\(error)")
        }
    }

    @Test func anEntityWithTheOldSavingTriggerGetsTheStreamsTriggerAsItIsNow() async throws {
        let location = try await PostgresTestServer.freshSchema()
        var warehouse = try await PostgresWarehouse.open(location)
        _ = try await warehouse.query(
            "INSERT INTO customer (customer_id, first_name, update_timestamp) VALUES (7, 'Ada', '2026-01-01 00:00:00.000000')"
        )
        _ = try await warehouse.consumeStream()
        await warehouse.close()
        // Entities made before saved SCD1's rows in a BEFORE row trigger, which locks every row
        // the pipeline updates; this one does nothing, so only the new trigger can save rows.
        try PostgresTestServer.psql(
            location,
            """
            CREATE FUNCTION customer_stream_save() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RETURN COALESCE(NEW, OLD); END $$;
            CREATE TRIGGER customer_stream_save BEFORE INSERT OR UPDATE OR DELETE ON customer FOR EACH ROW
            EXECUTE FUNCTION customer_stream_save();
            """
        )
        warehouse = try await PostgresWarehouse.open(location)
        let triggers = try await warehouse.query(
            "SELECT tgname::text FROM pg_trigger WHERE tgrelid = 'customer'::regclass AND NOT tgisinternal ORDER BY 1"
        ).result.rows
        #expect(triggers == [[.text("customer_stream_capture")], [.text("customer_stream_lock")]])
        _ = try await warehouse.query("UPDATE customer SET first_name = 'Bea' WHERE customer_id = 7")
        // Until the stream is consumed, history shows the row as it was before the update.
        await #expect(
            try warehouse.query("SELECT first_name FROM customer_history WHERE customer_id = 7").result.rows
                == [[.text("Ada")]]
        )
        _ = try await warehouse.consumeStream()
        await #expect(
            try warehouse.query(
                "SELECT first_name, is_current FROM customer_history WHERE customer_id = 7 ORDER BY start_time"
            ).result.rows == [[.text("Ada"), .integer(0)], [.text("Bea"), .integer(1)]]
        )
        await warehouse.close()
    }
}
