import FirnCore
import NIOCore

/// A bucket of objects: the seam between ingest (which puts files) and the pipe (which lists
/// and reads them).
///
/// Two implementations exist: ``DirectoryBucket`` (a local directory used as a bucket, the
/// embedded default) and ``S3Bucket`` (any S3-compatible endpoint, signed with AWS Signature
/// Version 4). Do not declare other conformances without a second real backend in mind.
///
/// Every method throws ``ObjectStoreError``. Keys are relative to the bucket's prefix: a bucket at
/// `s3://b/landing` given key `2026/11/25/a.csv` stores `landing/2026/11/25/a.csv`.
///
/// ## Topics
/// - ``put(file:key:)``
/// - ``put(handingOver:key:)``
/// - ``put(_:key:)``
/// - ``get(_:)``
/// - ``download(_:to:)``
/// - ``head(_:)``
/// - ``list(after:)``
/// - ``delete(_:)``
public protocol ObjectStore: Sendable {
    /// Where the bucket is, safe to print (no credentials).
    var location: BucketLocation { get }

    /// Uploads the local file at `path` under `key`, replacing any object there; returns the
    /// stored object's description once the store has confirmed it (durable on disk, or
    /// acknowledged by S3). Large files go up in parts where the store supports it.
    func put(file path: String, key: ObjectKey) async throws -> ObjectInfo

    /// Stores the local file at `path` under `key` as ``put(file:key:)`` does, from a file the
    /// caller hands over: nothing writes to it again (the caller may keep it as it is, or
    /// remove it). A store may then keep that very file instead of a copy of its bytes: a
    /// ``DirectoryBucket`` on the same file system links it into place. The default is
    /// ``put(file:key:)``.
    func put(handingOver path: String, key: ObjectKey) async throws -> ObjectInfo

    /// Stores `bytes` under `key`, replacing any object there.
    func put(_ bytes: ByteBuffer, key: ObjectKey) async throws -> ObjectInfo

    /// Reads a whole object. Throws ``ObjectStoreError`` with code `notFound` when it is missing.
    func get(_ key: ObjectKey) async throws -> ByteBuffer

    /// Writes an object to the local file at `path` (replacing it), streaming, and returns the
    /// object's description.
    func download(_ key: ObjectKey, to path: String) async throws -> ObjectInfo

    /// Describes an object, or returns `nil` when there is none under `key`.
    func head(_ key: ObjectKey) async throws -> ObjectInfo?

    /// Lists the objects whose keys sort after `after` (all of them when `nil`), in ascending
    /// key order (bytewise, as S3 orders them), following pagination to the end.
    func list(after: ObjectKey?) async throws -> [ObjectInfo]

    /// Removes an object. Removing a missing object is not an error.
    func delete(_ key: ObjectKey) async throws
}

extension ObjectStore {
    public func put(handingOver path: String, key: ObjectKey) async throws -> ObjectInfo {
        try await put(file: path, key: key)
    }
}

/// An object's key inside a bucket (below the bucket's prefix).
///
/// Valid keys are non-empty UTF-8 of at most 1,024 bytes, without a leading `/`, without empty,
/// `.` or `..` path segments and without control characters, so the same key is a safe relative
/// path in a ``DirectoryBucket`` and a plain key in S3.
public struct ObjectKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The key text.
    public let rawValue: String

    /// Validates a key.
    ///
    /// - Throws: ``ObjectStoreError`` (`invalidKey`) saying what is wrong.
    public init(_ rawValue: String) throws(ObjectStoreError) {
        guard !rawValue.isEmpty else { throw .invalidKey(rawValue, reason: "a key cannot be empty") }
        guard rawValue.utf8.count <= 1024 else {
            throw .invalidKey(rawValue, reason: "a key is at most 1024 bytes of UTF-8")
        }
        if rawValue.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw .invalidKey(rawValue, reason: "a key cannot contain control characters")
        }
        for segment in rawValue.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty || segment == "." || segment == ".." {
                throw .invalidKey(rawValue, reason: "a key cannot have empty, '.' or '..' segments (or a leading '/')")
            }
        }
        self.rawValue = rawValue
    }

    /// The last segment: the file name.
    public var name: Substring { rawValue.split(separator: "/").last ?? Substring(rawValue) }

    /// Bytewise (UTF-8) order, as S3 lists keys.
    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }

    public var description: String { rawValue }
}

/// What a store says about one object.
public struct ObjectInfo: Sendable, Hashable {
    /// The key (below the bucket's prefix).
    public var key: ObjectKey
    /// Size in bytes.
    public var size: Int64
    /// The store's version tag, without quotes. S3 gives the MD5 of a single-part upload or
    /// `md5-of-parts-N` of a multipart one; a ``DirectoryBucket`` gives size and modification time.
    public var etag: String
    /// When the file it was uploaded from landed, when the announcer knows it (ingest in the
    /// same process); listings leave it `nil`. Load history records it, for freshness.
    public var landedAt: Timestamp?

    /// Creates a description.
    public init(key: ObjectKey, size: Int64, etag: String, landedAt: Timestamp? = nil) {
        self.key = key
        self.size = size
        self.etag = etag
        self.landedAt = landedAt
    }
}

/// Why an object store operation failed.
///
/// Descriptions name the bucket and key the user must look at, never credentials or signatures:
/// the whole text goes through ``URLRedaction/redacted(_:)``.
public enum ObjectStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The key is not valid.
    case invalidKey(String, reason: String)
    /// No object under this key.
    case notFound(key: String)
    /// The bucket location could not be parsed.
    case invalidLocation(String, reason: String)
    /// The SQS queue URL could not be parsed (see ``S3EventQueue/queueURL(_:)``).
    case invalidQueueURL(String, reason: String)
    /// Local file-system trouble (the directory bucket, or a file being uploaded or downloaded).
    case io(path: String, reason: String)
    /// The server answered with an error status.
    case server(status: Int, code: String, message: String, key: String?)
    /// The server could not be reached or the connection failed.
    case unreachable(endpoint: String, reason: String)
    /// Credentials are missing.
    case missingCredentials(String)
    /// The bucket as a whole cannot be used now: a ``DirectoryBucket``'s directory is missing or
    /// not a directory, its file system is full, over quota, read-only or failing, or access to
    /// it is denied. Nothing is wrong with any one object; the same call succeeds once the store
    /// is fixed.
    case unavailable(bucket: String, reason: String)

    /// Whether retrying later may succeed (network trouble, throttling, server errors, a bucket
    /// that is unavailable as a whole).
    public var isTransient: Bool {
        switch self {
        case .unreachable, .unavailable: true
        case .server(let status, _, _, _): status >= 500 || status == 429 || status == 408
        case .io: true
        default: false
        }
    }

    /// Whether the failure is the whole store's rather than one object's or one local file's.
    ///
    /// True when the store cannot be reached or fails on its side (5xx, throttling), when it is
    /// ``unavailable(bucket:reason:)`` (a directory bucket missing, full, read-only or denied),
    /// when S3 says the bucket does not exist (`NoSuchBucket`), denies access (`AccessDenied`,
    /// any 403), rejects the credentials (`InvalidAccessKeyId`, `SignatureDoesNotMatch`,
    /// `ExpiredToken`…) or the region (`PermanentRedirect`, `AuthorizationHeaderMalformed`), and
    /// when credentials are missing. Such an error says nothing about the object in hand, so a
    /// caller that gives up on an object after a few attempts (ingest) waits for the store
    /// instead. False for errors of one key or one local file (`invalidKey`, `notFound`, `io`,
    /// other S3 codes).
    public var isStoreWide: Bool {
        switch self {
        case .unreachable, .unavailable, .missingCredentials: true
        case .server(let status, let code, _, _):
            status >= 500 || status == 429 || status == 408 || status == 403 || status == 301
                || Self.storeWideCodes.contains(code)
        case .invalidKey, .notFound, .invalidLocation, .invalidQueueURL, .io: false
        }
    }

    /// S3 error codes that concern the bucket, the account, the credentials or the region.
    static let storeWideCodes: Set<String> = [
        "NoSuchBucket", "AccessDenied", "AllAccessDisabled", "AccountProblem", "InvalidAccessKeyId",
        "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "RequestTimeTooSkewed",
        "PermanentRedirect", "AuthorizationHeaderMalformed", "InvalidBucketState",
    ]

    public var description: String {
        URLRedaction.redacted(unredactedDescription)
    }

    private var unredactedDescription: String {
        switch self {
        case .invalidKey(let key, let reason): "invalid object key \(key.debugDescription): \(reason)"
        case .notFound(let key): "no object \(key.debugDescription) in the bucket"
        case .invalidLocation(let text, let reason): "bucket \(text.debugDescription): \(reason)"
        case .invalidQueueURL(let text, let reason): "SQS queue URL \(text.debugDescription): \(reason)"
        case .io(let path, let reason): "\(path): \(reason)"
        case .server(let status, let code, let message, let key):
            "S3 error \(status) \(code)\(key.map { " on \($0.debugDescription)" } ?? ""): \(message)"
        case .unreachable(let endpoint, let reason): "cannot reach \(endpoint): \(reason)"
        case .missingCredentials(let detail): "missing S3 credentials: \(detail)"
        case .unavailable(let bucket, let reason): "bucket \(bucket) unavailable: \(reason)"
        }
    }
}
