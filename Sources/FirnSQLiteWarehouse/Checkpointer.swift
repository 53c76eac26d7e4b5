import CFirnSQLite
import Foundation
import GRDB

/// Copies committed pages from the write-ahead log back into the database on its own thread
/// and connection, so that commits on the writer only append to the log.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses the threshold, on the
/// writer: with batches dirtying thousands of random pages it made one commit in a few
/// hundred times slower than the rest (measured: p50 28 ms, p99 158 ms at B = 1,000). A
/// passive checkpoint from another connection runs beside the writer, on the second core,
/// and never blocks it. Durability is unchanged: each commit is in the log, fsynced, before
/// it returns. The writer keeps a far higher automatic threshold as a safety net in case this
/// thread falls behind.
///
/// The thread runs at nice 10: it has the second core to itself only when the writer's helper
/// thread (``KnownKeys``), which the writer waits for, does not need it. With equal priority
/// the checkpoint of one batch slowed the grouping of the next (`firn bench load
/// --batch-sizes 10000`: the writer's staging-and-waiting phase 0.41-0.49 s against 0.54-0.61 s
/// over 30 batches, medians of five alternating runs).
///
/// `@unchecked Sendable`: the mutable state (`pending`, `isStopping`) is only touched under
/// `condition`'s lock; the connection is only used by the checkpoint thread.
final class Checkpointer: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending = 0
    private var isStopping = false
    private let stopped = DispatchSemaphore(value: 0)
    private let connection: DatabaseQueue

    /// Opens a second connection to `path` and starts the thread.
    init(path: String, configuration: Configuration) throws {
        connection = try DatabaseQueue(path: path, configuration: configuration)
        let thread = Thread { [self] in loop() }
        thread.name = "firn-checkpoint"
        thread.start()
    }

    /// Notes a commit; the thread checkpoints soon after.
    func noteCommit() {
        condition.lock()
        pending += 1
        condition.signal()
        condition.unlock()
    }

    /// Stops the thread after its current checkpoint, waits for it, and closes the connection
    /// here (not whenever the thread lets go of this object), so that a warehouse is fully
    /// closed when its deinit returns.
    func stop() {
        condition.lock()
        isStopping = true
        condition.signal()
        condition.unlock()
        stopped.wait()
        try? connection.close()
    }

    private func loop() {
        _ = firn_lower_thread_priority(10)
        while true {
            condition.lock()
            while pending == 0 && !isStopping { condition.wait() }
            let stopping = isStopping
            pending = 0
            condition.unlock()
            if stopping { break }
            // A failed checkpoint (a reader holding an old snapshot, say) is retried after the
            // next commit; the writer's own threshold bounds the log meanwhile.
            try? connection.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)")
            }
        }
        stopped.signal()
    }
}
