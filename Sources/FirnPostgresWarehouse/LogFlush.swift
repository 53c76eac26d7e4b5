import FirnWarehouse
import Logging
import PostgresNIO

/// Has the server flush its write-ahead log while a large chunk's transaction is still
/// running, so that the chunk's commit waits only for the log written since.
///
/// A commit waits until the server has written and synced its log up to the commit. The server's
/// own log writer syncs at most every `wal_writer_delay` (200 ms by default) while no commit
/// asks, so a chunk of ten thousand rows, about 5 MB of log in a tenth of a second, had its
/// commit wait for all of it. The log is one stream for the whole server: any transaction's
/// synchronous commit syncs everything before it. So after each large step of a chunk the batch
/// calls ``nudge()``, and another pooled connection commits a transaction that has only an id
/// (`pg_current_xact_id()`, no row written): the server syncs the chunk's log so far while the
/// chunk goes on.
///
/// Durability is unchanged (the chunk's own commit still syncs), and nothing depends on a nudge:
/// one that fails (no free connection, a server going away) is dropped. At most one runs at a
/// time; nudges meanwhile make one more run after it, not one each.
final class LogFlush: Sendable {
    private let client: PostgresClient
    private let logger: Logger
    private let state = Locked(State())

    private struct State: Sendable {
        var running: Task<Void, Never>?
        var again = false
        var stopped = false
        var completed = 0
    }

    /// Flushes that reached the server so far.
    var completed: Int { state.withLock { $0.completed } }

    init(_ client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Starts a flush, or asks the running one to go once more when it ends.
    func nudge() {
        state.withLock { state in
            guard !state.stopped else { return }
            if state.running != nil {
                state.again = true
                return
            }
            // The task's first lock waits for this one to be released, so it sees `running`.
            state.running = Task { await self.run() }
        }
    }

    /// Takes no more nudges, and cancels the flush running (waiting for a connection, or for the
    /// server).
    func stop() {
        state.withLock { state in
            state.stopped = true
            state.running?.cancel()
        }
    }

    /// Waits until no flush runs (one running when it is called, and the runs it makes).
    func idle() async {
        await state.withLock { $0.running }?.value
    }

    private func run() async {
        repeat {
            do {
                try await client.withConnection { connection in
                    try await connection.execute("SELECT pg_current_xact_id()", logger: logger)
                }
                state.withLock { $0.completed += 1 }
            } catch {
                logger.trace("a log flush was dropped: \(String(describing: error))")
            }
        } while state.withLock { state -> Bool in
            if state.again && !state.stopped {
                state.again = false
                return true
            }
            state.running = nil
            return false
        }
    }
}
