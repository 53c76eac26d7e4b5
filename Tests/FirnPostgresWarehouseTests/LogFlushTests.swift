import FirnCore
@testable import FirnPostgresWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// The server flushes its log while a large chunk runs (``LogFlush``): a chunk of at least
/// ``PostgresBatch/logFlushRows`` records has another connection commit after staging, a small
/// one does not; nudges coalesce; none runs once the pool stops, and stopping cancels one that
/// waits; a server that refuses the statement is not asked again.
@Suite struct LogFlushTests {
    @Test func aLargeChunkHasTheLogFlushedWhileItRunsAndASmallOneDoesNot() async throws {
        let location = try await PostgresTestServer.freshSchema()
        let warehouse = try await PostgresWarehouse.open(location, maximumConnections: 2)
        let flush = warehouse.pool.logFlush
        try await load(warehouse, "small.csv", keys: 1...10)
        await flush.idle()
        #expect(flush.completed == 0)
        try await load(warehouse, "large.csv", keys: 1...Int64(PostgresBatch.logFlushRows))
        await flush.idle()
        #expect(flush.completed >= 1)
        let rows = try await warehouse.query("SELECT count(*) FROM customer").result.rows
        #expect(rows == [[.integer(Int64(PostgresBatch.logFlushRows))]])
        await warehouse.close()
    }

    @Test func nudgesWhileAFlushRunsMakeOneMoreAndNoneRunsOnceStopped() async throws {
        let location = try await PostgresTestServer.freshSchema()
        let warehouse = try await PostgresWarehouse.open(location, maximumConnections: 2)
        let flush = warehouse.pool.logFlush
        for _ in 0..<10 { flush.nudge() }
        await flush.idle()
        // The first nudge starts a flush (a round trip to the server); the nine that come
        // while it runs make one more between them, not nine.
        #expect((1..<10).contains(flush.completed), "\(flush.completed) flushes for 10 nudges")
        let before = flush.completed
        flush.stop()
        flush.nudge()
        await flush.idle()
        #expect(flush.completed == before)
        await warehouse.close()
    }

    @Test func stoppingCancelsAFlushThatWaitsForAConnection() async throws {
        let location = try await PostgresTestServer.freshSchema()
        let warehouse = try await PostgresWarehouse.open(location, maximumConnections: 2)
        let flush = warehouse.pool.logFlush
        // Both of the pool's connections busy for five seconds: the nudge's flush waits.
        let busy = (0..<2).map { _ in
            Task { try await warehouse.reading { try await $0.execute("SELECT pg_sleep(5)", logger: warehouse.logger) } }
        }
        try await Task.sleep(for: .milliseconds(500))
        flush.nudge()
        let stopping = ContinuousClock.now
        flush.stop()
        await flush.idle()
        #expect(ContinuousClock.now - stopping < .seconds(3), "the waiting flush was not cancelled")
        #expect(flush.completed == 0)
        for task in busy { try await task.value }
        await warehouse.close()
    }

    @Test func aServerThatRefusesTheStatementIsNotAskedAgain() async throws {
        let location = try await PostgresTestServer.freshSchema()
        let warehouse = try await PostgresWarehouse.open(location, maximumConnections: 2)
        let flush = LogFlush(warehouse.client, logger: warehouse.logger, statement: "SELECT firn_no_such_function()")
        flush.nudge()
        await flush.idle()
        #expect(flush.refused && flush.completed == 0)
        flush.nudge()
        await flush.idle()
        #expect(flush.attempts == 1)
        await warehouse.close()
    }

    /// Loads one file of upserts of `keys` as one chunk.
    private func load(_ warehouse: PostgresWarehouse, _ name: String, keys: ClosedRange<Int64>) async throws {
        let file = TestFile(
            name: name,
            checksum: name,
            rows: keys.map { Draft(key: $0, time: at(Int($0)), operation: .upsert, attributes: person("P\($0)")) }
        )
        guard case .load(let ticket) = try await warehouse.beginLoad(file.content) else {
            Issue.record("\(name) was not loaded before")
            return
        }
        try await warehouse.applyChunk(
            ticket,
            RecordChunk(records: file.records(load: ticket.id), rejects: [], lastRow: Int64(keys.count)),
            finishing: true
        )
    }
}
