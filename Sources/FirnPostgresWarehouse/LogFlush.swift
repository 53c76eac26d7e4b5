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
/// one that fails (no free connection, a server going away) is dropped, and a server that
/// refuses the statement is not asked again. At most one runs at a time; nudges meanwhile make
/// one more run after it, not one each.
final class LogFlush: Sendable {
    private let client: PostgresClient
    private let logger: Logger
    private let statement: String
    private let state = Locked(State())

    private struct State: Sendable {
        var running: Task<Void, Never>?
        var again = false
        var stopped = false
        var refused = false
        var attempts = 0
        var completed = 0
    }

    /// Flushes started so far.
    var attempts: Int { state.withLock { $0.attempts } }

    /// Flushes that reached the server so far.
    var completed: Int { state.withLock { $0.completed } }

    /// Whether the server refused the statement (and so is not asked again).
    var refused: Bool { state.withLock { $0.refused } }

    /// Flushes on `client`'s connections by running `statement` (a transaction that takes an id).
    init(_ client: PostgresClient, logger: Logger, statement: String = "SELECT pg_current_xact_id()") {
        self.client = client
        self.logger = logger
        self.statement = statement
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
            state.withLock { $0.attempts += 1 }
            do {
                try await client.withConnection { connection in
                    try await connection.execute(statement, logger: logger)
                }
                state.withLock { $0.completed += 1 }
            } catch let error as PSQLError where Self.isRefusal(error.serverInfo?[.sqlState]) {
                // The server refused the statement (no such function, no right to it, a read-only
                // server): it will again, so the pool stops asking.
                state.withLock { state in
                    state.stopped = true
                    state.refused = true
                }
                let reason = error.serverInfo?[.message] ?? "server error"
                logger.notice("the server refused a log flush (\(reason)); chunks commit without it")
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

    /// Whether an error's SQLSTATE says the server will refuse the statement every time: class
    /// 42 (an undefined function, no privilege), 0A (not supported) or 25 (read-only).
    static func isRefusal(_ sqlState: String?) -> Bool {
        guard let sqlState else { return false }
        return ["42", "0A", "25"].contains(String(sqlState.prefix(2)))
    }
}
