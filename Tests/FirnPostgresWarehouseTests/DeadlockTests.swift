import FirnCore
import FirnPostgresWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// Another client's transaction that locks an SCD1 row (`SELECT … FOR UPDATE` fires no trigger,
/// so it takes no apply lock) and then changes SCD1 while a chunk waits for that row: the
/// chunk holds the entity's apply lock and waits for the row, the client's statement trigger
/// waits for the apply lock. PostgreSQL finds the deadlock and aborts one of the two.
@Suite struct DeadlockTests {
    @Test func aClientLockingAnSCD1RowBeforeItsDMLDeadlocksWithoutLossOrDoubles() async throws {
        let store = try await TestWarehouse.open(.postgres)
        let warehouse = store.warehouse
        let location = (warehouse as! PostgresWarehouse).server
        let base = TestFile(
            name: "base.csv",
            checksum: "base",
            rows: (1...3).map { Draft(key: $0, time: at(Int($0)), operation: .upsert, attributes: person("B\($0)")) }
        )
        let change = TestFile(
            name: "change.csv",
            checksum: "change",
            rows: (1...3).map {
                Draft(key: $0, time: at(10 + Int($0)), operation: .upsert, attributes: person("C\($0)"))
            }
        )
        try await store.load(base)

        // The client locks key 2's row, waits until a chunk waits for it, then runs a statement
        // on SCD1 (changing no row: its statement trigger alone takes the apply lock). psql waits
        // for its process: on a thread of its own, not the cooperative pool.
        let marker = "deadlock-client-\(location.schema)"
        let client = Task {
            await withCheckedContinuation { (done: CheckedContinuation<Result<Void, any Error>, Never>) in
                DispatchQueue.global().async {
                    done.resume(
                        returning: Result {
                            try PostgresTestServer.psql(
                                location,
                                """
                                BEGIN;
                                SELECT 1 FROM customer WHERE customer_id = 2 FOR UPDATE;
                                DO $$ DECLARE started timestamptz := clock_timestamp(); BEGIN
                                    WHILE NOT EXISTS (SELECT 1 FROM pg_stat_activity
                                        WHERE pg_backend_pid() = ANY (pg_blocking_pids(pid))) LOOP
                                        IF clock_timestamp() - started > interval '60 seconds' THEN
                                            RAISE EXCEPTION '\(marker): no chunk came to wait for the row';
                                        END IF;
                                        PERFORM pg_stat_clear_snapshot();
                                        PERFORM pg_sleep(0.01);
                                    END LOOP;
                                END $$;
                                UPDATE customer SET first_name = first_name WHERE false;
                                COMMIT;
                                """
                            )
                        }
                    )
                }
            }
        }
        // Until the client holds the row and waits in its loop (psql may be slow to start).
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let waiting = try await warehouse.query(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%\(marker)%'"
                    + " AND pid <> pg_backend_pid()"
            ).result.rows.first
            if waiting != [.integer(0)] { break }
            try await Task.sleep(for: .milliseconds(10))
        }

        guard case .load(let ticket) = try await warehouse.beginLoad(change.content) else { throw CancellationError() }
        var chunkError: WarehouseError?
        do {
            try await warehouse.applyChunk(
                ticket,
                RecordChunk(records: change.records(load: ticket.id), rejects: [], lastRow: 3),
                finishing: true
            )
        } catch {
            chunkError = error
        }
        let clientResult = await client.value
        switch (chunkError, clientResult) {
        case (let error?, .success):
            // The chunk was chosen: its error says so and that a retry may help; it does.
            #expect(error.mayRetry, "\(error)")
            #expect("\(error)".contains("deadlock") && "\(error)".contains("trying again may succeed"), "\(error)")
            guard case .load(let again) = try await warehouse.beginLoad(change.content) else {
                Issue.record("the chunk that failed counts as loaded")
                return
            }
            try await warehouse.applyChunk(
                again,
                RecordChunk(records: change.records(load: again.id), rejects: [], lastRow: 3),
                finishing: true
            )
        case (nil, .failure(let error)):
            // The client was chosen: its transaction is rolled back, the chunk went through.
            #expect("\(error)".contains("deadlock"), "\(error)")
        default:
            Issue.record(
                "expected exactly one side to fail with a deadlock: chunk \(String(describing: chunkError)), client \(clientResult)"
            )
        }

        // The same as loading the two files with no other client, on a fresh schema.
        let reference = try await TestWarehouse.open(.postgres)
        try await reference.load(base)
        try await reference.load(change)
        #expect(try await store.snapshot() == reference.snapshot())
        // Staged once each, one finished load per file.
        await #expect(try warehouse.query("SELECT count(*) FROM customer_raw").result.rows.first == [.integer(6)])
        await #expect(
            try warehouse.query("SELECT count(*) FROM firn_loads WHERE status = 'loaded'").result.rows.first
                == [.integer(2)]
        )
        await store.close()
        await reference.close()
    }
}
