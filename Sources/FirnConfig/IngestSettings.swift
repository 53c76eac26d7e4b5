import FirnIngest

/// The config file's `ingest:` section: how the landing-directory watcher behaves.
///
/// ```yaml
/// ingest:
///   key_template: "{yyyy}/{MM}/{dd}/{name}"   # --key-template wins
///   after_upload: archive        # or delete (--delete-after-upload)
///   max_attempts: 5              # uploads of one file before it goes to failed/
///   max_files_in_flight: 4
///   max_bytes_in_flight: 268435456
///   rescan_interval: 1           # seconds
///   stability_interval: 1        # seconds
/// ```
///
/// A value left out keeps ``IngestConfiguration``'s default; flags win over the file.
public struct IngestSettings: Sendable, Hashable {
    /// `key_template`. Defaults to ``ObjectKeyTemplate/datePartitioned``.
    public var keyTemplate: ObjectKeyTemplate?
    /// `after_upload`: `archive` or `delete`. Defaults to `archive`.
    public var afterUpload: IngestConfiguration.AfterUpload?
    /// `max_attempts`. Defaults to `5`.
    public var maxAttempts: Int?
    /// `max_files_in_flight`. Defaults to `4`.
    public var maxFilesInFlight: Int?
    /// `max_bytes_in_flight`. Defaults to 256 MiB.
    public var maxBytesInFlight: Int?
    /// `rescan_interval`, in seconds. Defaults to `1`.
    public var rescanInterval: Duration?
    /// `stability_interval`, in seconds. Defaults to `1`.
    public var stabilityInterval: Duration?

    /// No settings: every value at ``IngestConfiguration``'s default.
    public init() {}

    /// Sets the values the file gave on `configuration`.
    public func apply(to configuration: inout IngestConfiguration) {
        if let keyTemplate { configuration.keyTemplate = keyTemplate }
        if let afterUpload { configuration.afterUpload = afterUpload }
        if let maxAttempts { configuration.maxAttempts = maxAttempts }
        if let maxFilesInFlight { configuration.maxFilesInFlight = maxFilesInFlight }
        if let maxBytesInFlight { configuration.maxBytesInFlight = Int64(maxBytesInFlight) }
        if let rescanInterval { configuration.rescanInterval = rescanInterval }
        if let stabilityInterval { configuration.stabilityInterval = stabilityInterval }
    }
}
