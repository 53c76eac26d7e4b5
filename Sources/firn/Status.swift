import ArgumentParser
import FirnConfig
import FirnCore
import FirnObjectStore
import FirnWarehouse
import Foundation

/// `firn status`: the workers sharing the warehouse, the scheduler lease, the backlog in the
/// bucket and the latest load.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the workers loading into the warehouse, who runs the tasks, the backlog and the latest load.",
        discussion: """
            Workers are the `firn run` and `firn pipe` processes on this warehouse, as their last \
            heartbeat (every 5 s) left them; a worker that stopped cleanly is gone, one that was killed \
            stays with an ageing heartbeat. The backlog lists the bucket: objects there that no worker \
            has taken yet.
            """
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let (warehouse, settings) = try await options.openWarehouse(creating: false)
        let now = Timestamp.now()
        print("warehouse \(warehouse.location)")
        let workers = try await warehouse.workers()
        print("workers: \(workers.count)")
        if !workers.isEmpty {
            var table = QueryResult(
                columns: ["worker", "host", "pid", "started", "heartbeat", "objects", "rows", "rows/s (1 min)", "claimed"],
                rows: []
            )
            for worker in workers {
                table.rows.append([
                    .text(worker.id), .text(worker.host), .integer(worker.processID), .text(worker.startedAt),
                    .text(Self.age(worker.heartbeatAt, now: now)), .integer(worker.objectsLoaded),
                    .integer(worker.rowsLoaded), .text(String(format: "%.0f", worker.rowsPerSecond)),
                    .integer(worker.claimedObjects),
                ])
            }
            print(table.formatted(as: .table), terminator: "")
        }
        let lease = try await warehouse.leases().first { $0.name == "scheduler" }
        if let lease, let expires = Timestamp(canonical: lease.expiresAt), expires > now {
            print("scheduler lease: held by \(lease.holder) until \(lease.expiresAt)")
        } else {
            print("scheduler lease: free (no process runs the tasks)")
        }
        do {
            let store = try options.openStore(settings)
            let objects = try await store.list(after: nil)
            let taken = try await warehouse.takenPipeObjects(after: nil)
            let waiting = objects.filter { !taken.contains(PipeObjectTaken.name(key: $0.key.rawValue, etag: $0.etag)) }
            let oldest = waiting.first.map { " (first: \($0.key))" } ?? ""
            print("backlog: \(waiting.count) of \(objects.count) objects in \(store.location) not taken yet\(oldest)")
        } catch {
            print("backlog: unknown, the bucket could not be listed: \(error)")
        }
        if let latest = try await warehouse.loadHistory(.first(1)).items.first {
            let finished = latest.finishedAt.map { "finished \(Self.age($0, now: now))" } ?? "started \(latest.startedAt)"
            print("latest load: \(latest.fileName), \(latest.status), \(latest.rowsLoaded) rows, \(finished)")
        } else {
            print("latest load: none yet")
        }
    }

    /// `3.2 s ago` from a stored time.
    static func age(_ text: String, now: Timestamp) -> String {
        guard let time = Timestamp(canonical: text) else { return text }
        return String(format: "%.1f s ago", Double(now.microseconds - time.microseconds) / 1e6)
    }
}
