import FirnCore

/// What the pipe remembers of the bucket: each object (key and ETag) it took and the load
/// that took it, so no object is loaded twice.
public protocol PipeLedger: AnyObject, Sendable {
    /// The objects with keys after `after` (all when `nil`) that the pipe has taken, as
    /// ``PipeObjectTaken/name(key:etag:)`` strings.
    func takenPipeObjects(after: String?) async throws(WarehouseError) -> Set<String>

    /// Whether the pipe has taken this object (key and ETag) before.
    func hasTakenPipeObject(key: String, etag: String) async throws(WarehouseError) -> Bool

    /// Which of `objects` (keys and ETags) the pipe has taken before, as
    /// ``PipeObjectTaken/name(key:etag:)`` strings: one read for all of them where the backend
    /// can (the pipe asks this for each take, before loading).
    ///
    /// - Throws: ``WarehouseError`` when the ledger cannot be read.
    func takenPipeObjects(among objects: [(key: String, etag: String)]) async throws(WarehouseError) -> Set<String>

    /// Records that the pipe took an object: it is not taken again under the same ETag.
    func recordPipeObject(
        key: String,
        etag: String,
        sizeBytes: Int64,
        loadID: Int64?,
        status: String
    ) async throws(WarehouseError)

    /// The objects the pipe has taken, by key then ETag.
    func pipeObjects(_ page: PageRequest) async throws(WarehouseError) -> Page<PipeObject>

    /// Runs `body` while this process holds the claim on `name` (an object's key and ETag),
    /// so that no other worker sharing the warehouse loads that object meanwhile; returns
    /// `nil` at once, without running `body`, when another worker holds it.
    ///
    /// A claim is an economy, not the guarantee: exactly-once comes from load history (a
    /// load resumed by another worker skips the chunks already committed). A claim ends
    /// with `body` or with its holder: a worker that dies (or loses its server connection)
    /// loses its claims, and another may take the object and finish it.
    func withClaim<T: Sendable>(
        on name: String,
        _ body: () async throws(WarehouseError) -> T
    ) async throws(WarehouseError) -> T?

    /// Runs `body` with the names (from `names`, in order) whose claims this process holds,
    /// as ``withClaim(on:_:)`` does for one: names another worker holds are left out, and
    /// `body` is not run when that leaves none. Every claim ends with `body` or its holder.
    func withClaims<T: Sendable>(
        on names: [String],
        _ body: ([String]) async throws(WarehouseError) -> T
    ) async throws(WarehouseError) -> T?

    /// Records that the pipe took several objects (see ``recordPipeObject(key:etag:sizeBytes:loadID:status:)``),
    /// in one transaction when the backend can.
    func recordPipeObjects(_ objects: [PipeObjectTaken]) async throws(WarehouseError)

    /// Records a worker's heartbeat (creating or replacing its row).
    func recordHeartbeat(_ worker: WorkerRecord) async throws(WarehouseError)

    /// Removes a worker's row (it stopped cleanly).
    func removeWorker(_ id: String) async throws(WarehouseError)

    /// Every worker's last heartbeat, latest first.
    func workers() async throws(WarehouseError) -> [WorkerRecord]
}

/// An object the pipe took, as ``PipeLedger/recordPipeObjects(_:)`` records it.
public struct PipeObjectTaken: Sendable, Hashable {
    /// The object's key.
    public var key: String
    /// Its ETag.
    public var etag: String
    /// Its size in bytes.
    public var sizeBytes: Int64
    /// The load that took it (`nil` when none was recorded).
    public var loadID: Int64?
    /// The load's outcome: `loaded`, `skipped` or `failed`.
    public var status: String

    /// How the ledger's reads name an object: `key + "\u{0}" + etag` (a NUL is in neither).
    public static func name(key: String, etag: String) -> String { key + "\u{0}" + etag }

    /// Creates a record of a taken object.
    public init(key: String, etag: String, sizeBytes: Int64, loadID: Int64?, status: String) {
        self.key = key
        self.etag = etag
        self.sizeBytes = sizeBytes
        self.loadID = loadID
        self.status = status
    }
}

extension PipeLedger {
    /// Asks for each object in turn.
    public func takenPipeObjects(
        among objects: [(key: String, etag: String)]
    ) async throws(WarehouseError) -> Set<String> {
        var taken: Set<String> = []
        for object in objects where try await hasTakenPipeObject(key: object.key, etag: object.etag) {
            taken.insert(PipeObjectTaken.name(key: object.key, etag: object.etag))
        }
        return taken
    }

    /// Records each object in turn.
    public func recordPipeObjects(_ objects: [PipeObjectTaken]) async throws(WarehouseError) {
        for object in objects {
            try await recordPipeObject(
                key: object.key,
                etag: object.etag,
                sizeBytes: object.sizeBytes,
                loadID: object.loadID,
                status: object.status
            )
        }
    }
}
