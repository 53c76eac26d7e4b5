import FirnCore

/// How the landing-directory ingest behaves (NiFi's ListFile → FetchFile → PutS3Object).
///
/// Every property has a default that suits the embedded flow; `firn ingest` and `firn run`
/// flags and the config file's `ingest:` section override them.
public struct IngestConfiguration: Sendable, Hashable {
    /// What happens to a landing file once its upload is confirmed.
    public enum AfterUpload: String, Sendable, Hashable {
        /// Move it under ``IngestConfiguration/archiveDirectory`` (date folders).
        case archive
        /// Delete it.
        case delete
    }

    /// The directory watched for new files.
    public var landingDirectory: String
    /// Where uploaded files are moved (in `YYYY/MM/DD` folders). Defaults to `<data-dir>/archive`.
    public var archiveDirectory: String
    /// Where files that keep failing are moved, each with a `.error.txt` giving the reason.
    /// Defaults to `<data-dir>/failed`.
    public var failedDirectory: String
    /// Where ingest moves a file the moment it takes it (a rename, on the same file system as
    /// the landing directory), so a producer writing the same name again cannot change the
    /// bytes being checksummed and uploaded. Defaults to `<data-dir>/ingest-processing`.
    public var processingDirectory: String
    /// Archive or delete after upload. Defaults to ``AfterUpload/archive``.
    public var afterUpload: AfterUpload = .archive
    /// The object key for a file. Defaults to ``ObjectKeyTemplate/datePartitioned``
    /// (`{yyyy}/{MM}/{dd}/{name}`, the UTC date the file landed).
    public var keyTemplate: ObjectKeyTemplate = .datePartitioned
    /// How often the whole landing directory is rescanned as a safety net for missed events.
    /// Defaults to `1` second.
    public var rescanInterval: Duration = .seconds(1)
    /// A file found by a rescan (not announced by a rename into the directory) is taken once it
    /// has not been modified for this long: its modification time is at least this old. A writer
    /// that pauses longer than this mid-file should write a temporary name and rename instead.
    /// Defaults to `1` second.
    public var stabilityInterval: Duration = .seconds(1)
    /// Upload attempts for errors specific to a file (before it is moved to the failed folder).
    /// An error of the whole store (unreachable, missing bucket, full disk, access denied: see
    /// `ObjectStoreError.isStoreWide`) is retried without limit: it delays files, it does not fail them.
    /// Defaults to `5`.
    public var maxAttempts: Int = 5
    /// The first retry's delay; each next one doubles, with full jitter. Defaults to 200 ms.
    public var initialBackoff: Duration = .milliseconds(200)
    /// The longest delay between retries. Defaults to `30` seconds.
    public var maxBackoff: Duration = .seconds(30)
    /// At most this many files uploading at once. Defaults to `4`.
    public var maxFilesInFlight: Int = 4
    /// At most this many bytes uploading at once (a larger file goes alone). Defaults to 256 MiB.
    public var maxBytesInFlight: Int64 = 256 << 20

    /// The landing sub-folder this ingest takes files from, for an entity routed by folder
    /// (`customers` for the route `customers/`); `nil` for the landing directory itself.
    ///
    /// A file `x.csv` in it is recorded and keyed as `customers/x.csv`, so the default key is
    /// `{yyyy}/{MM}/{dd}/customers/x.csv` and the pipe routes the object by that folder; it is
    /// archived under `<archive>/{yyyy}/{MM}/{dd}/customers/` and fails into
    /// `<failed>/customers/`. Use ``folder(_:)`` to make one. Defaults to `nil`.
    public private(set) var folder: String?

    /// This configuration for the landing sub-folder `folder` (a relative path, `/`-separated):
    /// landing, processing and failed folders one level down, the archive and the key template
    /// unchanged (the folder becomes part of each file's recorded name).
    public func folder(_ folder: String) -> IngestConfiguration {
        let folder = folder.split(separator: "/").joined(separator: "/")
        var derived = self
        derived.folder = folder
        derived.landingDirectory = landingDirectory + "/" + folder
        derived.processingDirectory = processingDirectory + "/" + folder
        derived.failedDirectory = failedDirectory + "/" + folder
        return derived
    }

    /// The name a landing file is recorded under: `folder/name` in a sub-folder, else `name`.
    public func recordedName(_ name: String) -> String {
        folder.map { "\($0)/\(name)" } ?? name
    }

    /// Whether a journal entry's recorded name is one this ingest took (one in its folder, or
    /// one with no folder for the landing directory itself).
    public func owns(recordedName name: String) -> Bool {
        guard let folder else { return !name.contains("/") }
        guard name.hasPrefix(folder + "/") else { return false }
        return !name.dropFirst(folder.count + 1).contains("/")
    }

    /// Creates a configuration for a landing directory; archive and failed folders are siblings
    /// under `dataDirectory`.
    public init(landingDirectory: String, dataDirectory: String) {
        self.landingDirectory = landingDirectory
        self.archiveDirectory = dataDirectory + "/archive"
        self.failedDirectory = dataDirectory + "/failed"
        self.processingDirectory = dataDirectory + "/ingest-processing"
    }

    /// Whether a landing file name is a temporary one that a writer is still filling: hidden
    /// (`.name`), or ending in `.tmp`, `.part`, `.partial`, `.crdownload`, `.swp` or `~`.
    public static func isTemporaryName(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix("~") { return true }
        let lowered = name.lowercased()
        return [".tmp", ".part", ".partial", ".crdownload", ".swp"].contains { lowered.hasSuffix($0) }
    }
}

/// Builds an object key from a landing file's name and landing time.
///
/// Placeholders: `{name}` (the file name), `{yyyy}`, `{MM}`, `{dd}`, `{HH}` (UTC landing time).
public struct ObjectKeyTemplate: Sendable, Hashable, CustomStringConvertible {
    /// The template text.
    public let text: String

    /// `{yyyy}/{MM}/{dd}/{name}`.
    public static let datePartitioned = ObjectKeyTemplate(unchecked: "{yyyy}/{MM}/{dd}/{name}")

    init(unchecked text: String) { self.text = text }

    /// Validates a template: it must contain `{name}` and only known placeholders.
    ///
    /// - Throws: ``IngestError/invalidConfiguration(_:)``.
    public init(_ text: String) throws(IngestError) {
        guard text.contains("{name}") else {
            throw .invalidConfiguration("key template \(text.debugDescription) must contain {name}")
        }
        var rest = text
        for placeholder in ["{name}", "{yyyy}", "{MM}", "{dd}", "{HH}"] {
            rest = rest.replacingOccurrences(of: placeholder, with: "")
        }
        if rest.contains("{") || rest.contains("}") {
            throw .invalidConfiguration(
                "key template \(text.debugDescription): known placeholders are {name} {yyyy} {MM} {dd} {HH}"
            )
        }
        self.text = text
    }

    /// The key text for a file landed at `secondsSinceEpoch` (UTC).
    public func key(name: String, landedAtEpochSeconds seconds: Int64) -> String {
        // "YYYY-MM-DD HH:MM:SS.ffffff": the date fields are fixed positions of FirnCore's UTC form.
        let utc = Array(Timestamp(microseconds: seconds * 1_000_000).description)
        func field(_ range: Range<Int>) -> String { String(utc[range]) }
        return text.replacingOccurrences(of: "{yyyy}", with: field(0..<4))
            .replacingOccurrences(of: "{MM}", with: field(5..<7))
            .replacingOccurrences(of: "{dd}", with: field(8..<10))
            .replacingOccurrences(of: "{HH}", with: field(11..<13))
            .replacingOccurrences(of: "{name}", with: name)
    }

    public var description: String { text }
}

/// Why ingest could not start or go on.
public enum IngestError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A setting is wrong.
    case invalidConfiguration(String)
    /// The journal (ingest's state database) failed.
    case journal(path: String, reason: String)
    /// The landing directory cannot be watched or read.
    case landing(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message): message
        case .journal(let path, let reason): "ingest journal \(path): \(reason)"
        case .landing(let path, let reason): "landing directory \(path): \(reason)"
        }
    }
}
