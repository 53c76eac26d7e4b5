import FirnCore

/// A file's content identity: exactly-once loading is keyed by name and checksum, so a
/// changed file under the same name is new content.
public struct FileContent: Sendable, Hashable {
    /// The file name as recorded in load history and staging (`source_file`).
    public var name: String
    /// The SHA-256 of the file's bytes, lower-case hex.
    public var checksum: String
    /// The file's size in bytes.
    public var sizeBytes: Int64
    /// Where it came from, as load history shows it: `file` for `firn load`, the bucket's
    /// location for the pipe. Defaults to `file`.
    public var source: String
    /// When the file landed in the landing directory, when known (the flow knows it for the
    /// files its own ingest uploads): a new load records it, so load history gives each file's
    /// freshness (landing to the commit of its last row). Not part of the identity.
    public var landedAt: Timestamp?

    /// Creates a file identity.
    public init(name: String, checksum: String, sizeBytes: Int64, source: String = "file", landedAt: Timestamp? = nil) {
        self.name = name
        self.checksum = checksum
        self.sizeBytes = sizeBytes
        self.source = source
        self.landedAt = landedAt
    }
}

/// A load in progress: the load history row that its chunks advance.
public struct LoadTicket: Sendable, Hashable {
    /// The load history id (`firn_loads.load_id`), also the records' arrival order.
    public var id: Int64
    /// The file.
    public var content: FileContent
    /// Rows up to this number were applied by an earlier, interrupted attempt; skip them.
    public var resumeAfterRow: Int64
    /// The event time of records in a file without an event-time column: the load's start.
    public var defaultEventTime: Timestamp

    /// Creates a ticket (backends do, in ``Warehouse/beginLoad(_:continuing:)``).
    public init(id: Int64, content: FileContent, resumeAfterRow: Int64, defaultEventTime: Timestamp) {
        self.id = id
        self.content = content
        self.resumeAfterRow = resumeAfterRow
        self.defaultEventTime = defaultEventTime
    }
}

/// A load that stopped part way (interrupted, or failed after applying rows): the content it
/// was loading and how far it got. See ``Warehouse/unfinishedLoads(named:)``.
public struct UnfinishedLoad: Sendable, Hashable {
    /// The load history id.
    public var id: Int64
    /// The content it was loading.
    public var content: FileContent
    /// The rows applied.
    public var rowsDone: Int64

    /// Creates an unfinished load.
    public init(id: Int64, content: FileContent, rowsDone: Int64) {
        self.id = id
        self.content = content
        self.rowsDone = rowsDone
    }
}

/// How ``Warehouse/beginLoad(_:continuing:)`` answered.
public enum LoadStart: Sendable, Hashable {
    /// Load (or resume) the file.
    case load(LoadTicket)
    /// This content was loaded before, by the load with this summary: skip it.
    case alreadyLoaded(LoadSummary)
}

/// One row of load history.
public struct LoadSummary: Sendable, Hashable {
    /// The load history id.
    public var id: Int64
    /// Where the file came from: `file`, `stream` (manual DML) or the bucket's location.
    public var source: String
    /// The file name (or object key).
    public var fileName: String
    /// The SHA-256 of the content loaded, lower-case hex (empty when the file could not be read).
    public var checksum: String
    /// `loading`, `loaded` or `failed`.
    public var status: String
    /// Rows staged.
    public var rowsLoaded: Int64
    /// Rows rejected (see `firn rejects`).
    public var rowsRejected: Int64
    /// History versions opened.
    public var versionsOpened: Int64
    /// History versions closed.
    public var versionsClosed: Int64
    /// When the load started, as stored.
    public var startedAt: String
    /// When it finished, as stored.
    public var finishedAt: String?
    /// Why it failed.
    public var error: String?
    /// What the file left to defaults or ignored (no op or event-time column, unknown columns),
    /// one sentence each, separated by `; `; `nil` when nothing.
    public var warnings: String?
    /// When the file landed, as stored, when the loader knew it (see ``FileContent/landedAt``).
    public var landedAt: String?

    /// The seconds from landing to the load's finish, when both are known.
    public var freshnessSeconds: Double? {
        guard let landedAt, let finishedAt, let landed = Timestamp(canonical: landedAt),
            let finished = Timestamp(canonical: finishedAt)
        else { return nil }
        return Double(finished.microseconds - landed.microseconds) / 1e6
    }

    /// Creates a load history row.
    public init(
        id: Int64,
        source: String = "file",
        fileName: String,
        checksum: String = "",
        status: String,
        rowsLoaded: Int64 = 0,
        rowsRejected: Int64 = 0,
        versionsOpened: Int64 = 0,
        versionsClosed: Int64 = 0,
        startedAt: String,
        finishedAt: String? = nil,
        error: String? = nil,
        warnings: String? = nil,
        landedAt: String? = nil
    ) {
        self.id = id
        self.source = source
        self.fileName = fileName
        self.checksum = checksum
        self.status = status
        self.rowsLoaded = rowsLoaded
        self.rowsRejected = rowsRejected
        self.versionsOpened = versionsOpened
        self.versionsClosed = versionsClosed
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.error = error
        self.warnings = warnings
        self.landedAt = landedAt
    }
}

/// A rejected row as the warehouse keeps it (`firn rejects`): the row of which file, and why.
public struct RejectRecord: Sendable, Hashable {
    /// Its id, in the order rows were rejected.
    public var id: Int64
    /// The load that rejected it.
    public var loadID: Int64
    /// The file.
    public var sourceFile: String
    /// The row number in the file (1 for the first data row).
    public var sourceRow: Int64
    /// Why, as the user should read it.
    public var reason: String
    /// The row as it was in the file.
    public var rawText: String
    /// When, as stored.
    public var rejectedAt: String

    /// Creates a reject record.
    public init(
        id: Int64,
        loadID: Int64,
        sourceFile: String,
        sourceRow: Int64,
        reason: String,
        rawText: String,
        rejectedAt: String
    ) {
        self.id = id
        self.loadID = loadID
        self.sourceFile = sourceFile
        self.sourceRow = sourceRow
        self.reason = reason
        self.rawText = rawText
        self.rejectedAt = rejectedAt
    }
}
