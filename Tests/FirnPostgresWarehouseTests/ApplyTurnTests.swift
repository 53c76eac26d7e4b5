import FirnCore
import FirnPostgresWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// The apply turn on the test run's server: chunks of one entity apply one at a time, and a
/// chunk that has to wait for its turn is staged while it waits.
@Suite struct ApplyTurnTests {
    @Test func aChunkWaitingForItsTurnIsStagedMeanwhile() async throws {
        let location = try await PostgresTestServer.freshSchema()
        let warehouse = try await PostgresWarehouse.open(location, maximumConnections: 2)
        // Another client's statement on SCD1 takes the entity's apply lock (its statement
        // trigger does) and holds it until its transaction ends, three seconds later; just
        // before it commits, it records the time (so the test compares times, not durations,
        // which a busy machine stretches).
        // psql waits for its process: on a thread of its own, not the cooperative pool.
        let holder = Task {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                DispatchQueue.global().async {
                    done.resume(
                        with: Result {
                            try PostgresTestServer.psql(
                                location,
                                "BEGIN; UPDATE customer SET first_name = 'x' WHERE false; SELECT pg_sleep(3); "
                                    + "CREATE TABLE turn_released AS SELECT "
                                    + "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at; COMMIT;"
                            )
                        }
                    )
                }
            }
        }
        // Until the holder has the lock (psql may take a while to start on a busy machine).
        // Its advisory lock, not any: other suites hold theirs on the same server meanwhile.
        // psql sends its whole command as one query, which names this test's schema.
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let held = try await warehouse.query(
                """
                SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid() AND a.query LIKE '%\(location.schema);%pg_sleep(3)%'
                """
            ).result.rows.first
            if held != [.integer(0)] { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let file = TestFile(
            name: "waiting.csv",
            checksum: "waiting",
            rows: (1...3).map { Draft(key: $0, time: at(Int($0)), operation: .upsert, attributes: person("P\($0)")) }
        )
        guard case .load(let ticket) = try await warehouse.beginLoad(file.content) else { throw CancellationError() }
        try await warehouse.applyChunk(
            ticket,
            RecordChunk(records: file.records(load: ticket.id), rejects: [], lastRow: 3),
            finishing: true
        )
        try await holder.value
        let times =
            try await warehouse.query(
                """
                SELECT min(r.loaded_at), max(c.applied_at), count(DISTINCT r.source_row), (SELECT at FROM turn_released)
                FROM customer_raw r, firn_chunks c
                """
            ).result.rows.first ?? []
        try #require(times.count == 4)
        guard case .text(let staged) = times[0], case .text(let applied) = times[1],
            case .text(let released) = times[3],
            let stagedAt = Timestamp(canonical: staged), let appliedAt = Timestamp(canonical: applied),
            let releasedAt = Timestamp(canonical: released)
        else {
            Issue.record("staging, chunk and release times: \(times)")
            return
        }
        #expect(times[2] == .integer(3))
        // Staged before the holder let go; applied after.
        #expect(stagedAt < releasedAt, "staged \(staged), holder committed at \(released)")
        #expect(releasedAt <= appliedAt, "holder committed at \(released), applied \(applied)")
        await #expect(try warehouse.query("SELECT count(*) FROM customer").result.rows.first == [.integer(3)])
        await warehouse.close()
    }
}
