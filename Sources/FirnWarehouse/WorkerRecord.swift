import FirnCore

/// One Firn process loading into the warehouse, as its last heartbeat left it
/// (`firn_workers`): what `firn status` shows of each worker.
public struct WorkerRecord: Sendable, Hashable {
    /// `host:pid:start`, unique per process.
    public var id: String
    /// The host name.
    public var host: String
    /// The process id on that host.
    public var processID: Int64
    /// When the process started (canonical text).
    public var startedAt: String
    /// When it last reported (canonical text).
    public var heartbeatAt: String
    /// Objects it loaded since it started.
    public var objectsLoaded: Int64
    /// Change rows it loaded since it started.
    public var rowsLoaded: Int64
    /// Change rows per second it loaded over the minute before its heartbeat.
    public var rowsPerSecond: Double
    /// Objects it held a claim on at its heartbeat.
    public var claimedObjects: Int64

    public init(
        id: String,
        host: String,
        processID: Int64,
        startedAt: String,
        heartbeatAt: String,
        objectsLoaded: Int64,
        rowsLoaded: Int64,
        rowsPerSecond: Double,
        claimedObjects: Int64
    ) {
        self.id = id
        self.host = host
        self.processID = processID
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.objectsLoaded = objectsLoaded
        self.rowsLoaded = rowsLoaded
        self.rowsPerSecond = rowsPerSecond
        self.claimedObjects = claimedObjects
    }
}

/// A lease as `firn_leases` holds it.
public struct LeaseRecord: Sendable, Hashable {
    /// The lease's name (`scheduler`).
    public var name: String
    /// Who holds it (a worker id).
    public var holder: String
    /// When it lapses unless renewed (canonical text).
    public var expiresAt: String

    public init(name: String, holder: String, expiresAt: String) {
        self.name = name
        self.holder = holder
        self.expiresAt = expiresAt
    }
}
