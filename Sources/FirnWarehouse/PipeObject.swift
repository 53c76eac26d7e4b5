import FirnCore

/// What the pipe recorded about one bucket object.
public struct PipeObject: Sendable, Hashable {
    /// The object key.
    public var key: String
    /// The object's ETag when it was taken.
    public var etag: String
    /// The load history row that loaded it (`firn_loads.load_id`).
    public var loadID: Int64?
    /// `loaded`, `skipped` (same content loaded before) or `failed`.
    public var status: String
    /// The object's size in bytes.
    public var sizeBytes: Int64
    /// When the pipe first saw it, as stored.
    public var seenAt: String
    /// When its load ended, as stored.
    public var loadedAt: String?

    /// Creates a pipe object record.
    public init(
        key: String,
        etag: String,
        loadID: Int64?,
        status: String,
        sizeBytes: Int64 = 0,
        seenAt: String = "",
        loadedAt: String? = nil
    ) {
        self.key = key
        self.etag = etag
        self.loadID = loadID
        self.status = status
        self.sizeBytes = sizeBytes
        self.seenAt = seenAt
        self.loadedAt = loadedAt
    }
}
