import FirnCore
import FirnWarehouse
import Foundation
import Logging
import ServiceLifecycle

/// This process as one of the warehouse's workers: host, process id and start time.
public struct WorkerIdentity: Sendable, Hashable {
    /// `host:pid:start`: a restarted process is a new worker.
    public var id: String
    public var host: String
    public var processID: Int64
    /// When the process started (canonical text).
    public var startedAt: String

    /// This process.
    public static let current: WorkerIdentity = {
        let host = ProcessInfo.processInfo.hostName
        let pid = Int64(getpid())
        let started = Timestamp.now()
        return WorkerIdentity(id: "\(host):\(pid):\(started.microseconds)", host: host, processID: pid, startedAt: started.description)
    }()

    public init(id: String, host: String, processID: Int64, startedAt: String) {
        self.id = id
        self.host = host
        self.processID = processID
        self.startedAt = startedAt
    }
}

/// Records this worker's heartbeat in the warehouse (``PipeLedger/recordHeartbeat(_:)``) every
/// ``interval``: objects and rows loaded, rows per second over the last minute, objects
/// claimed now. `firn status` reads them. A graceful stop removes the worker's row; a killed
/// worker's row stays, and its heartbeat ages.
public struct WorkerHeartbeat: Service {
    public let identity: WorkerIdentity
    public let pipe: AutoIngestPipe
    public let interval: Duration
    let logger: Logger

    public init(identity: WorkerIdentity, pipe: AutoIngestPipe, interval: Duration = .seconds(5), logger: Logger) {
        self.identity = identity
        self.pipe = pipe
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let warehouse = pipe.warehouse
        try? await cancelWhenGracefulShutdown {
            var samples: [(at: ContinuousClock.Instant, rows: Int64)] = []
            while true {
                await beat(&samples)
                try await Task.sleep(for: interval)
            }
        }
        try? await warehouse.removeWorker(identity.id)
    }

    /// Records one heartbeat; `samples` keeps the last minute's row counts for the rate.
    func beat(_ samples: inout [(at: ContinuousClock.Instant, rows: Int64)]) async {
        let now = ContinuousClock.now
        let statistics = pipe.statistics
        samples.append((now, statistics.rowsLoaded))
        samples.removeAll { now - $0.at > .seconds(60) }
        let first = samples[0]
        let elapsed = (now - first.at).seconds
        let record = WorkerRecord(
            id: identity.id,
            host: identity.host,
            processID: identity.processID,
            startedAt: identity.startedAt,
            heartbeatAt: Timestamp.now().description,
            objectsLoaded: Int64(statistics.objectsLoaded),
            rowsLoaded: statistics.rowsLoaded,
            rowsPerSecond: elapsed > 0 ? Double(statistics.rowsLoaded - first.rows) / elapsed : 0,
            claimedObjects: Int64(pipe.claimedObjects)
        )
        do {
            try await pipe.warehouse.recordHeartbeat(record)
        } catch {
            logger.warning("worker heartbeat not recorded: \(error)")
        }
    }
}
