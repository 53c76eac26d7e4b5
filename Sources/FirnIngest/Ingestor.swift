import FirnCore
import FirnMetrics
import FirnObjectStore
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Running totals of an ingest, for status lines.
public struct IngestStatistics: Sendable, Hashable {
    /// Files uploaded since start.
    public var filesUploaded = 0
    /// Bytes uploaded since start.
    public var bytesUploaded: Int64 = 0
    /// Files skipped as duplicates (same name and content uploaded before).
    public var filesDuplicate = 0
    /// Files moved to the failed folder.
    public var filesFailed = 0
    /// Failed attempts that were retried.
    public var retries = 0
    /// Files uploading now.
    public var inFlight = 0
    /// When the latest retried attempt failed (UTC, as Firn stores times).
    public var lastRetryAt: String?
    /// Why it failed: the file and the store's error.
    public var lastRetryMessage: String?

    /// Adds another ingest's totals (the latest retry of the two is kept).
    public static func += (total: inout IngestStatistics, other: IngestStatistics) {
        total.filesUploaded += other.filesUploaded
        total.bytesUploaded += other.bytesUploaded
        total.filesDuplicate += other.filesDuplicate
        total.filesFailed += other.filesFailed
        total.retries += other.retries
        total.inFlight += other.inFlight
        if let at = other.lastRetryAt, at > (total.lastRetryAt ?? "") {
            total.lastRetryAt = at
            total.lastRetryMessage = other.lastRetryMessage
        }
    }
}

/// The landing-directory ingest (NiFi's ListFile → FetchFile → PutS3Object) as a service.
///
/// Contract:
/// - Only complete files are taken: temporary names are ignored
///   (``IngestConfiguration/isTemporaryName(_:)``); a file renamed into the directory is taken
///   at once; one found by the rescan must not have changed for
///   ``IngestConfiguration/stabilityInterval``.
/// - A file is checksummed and recorded in the ``IngestJournal`` before its upload; the source
///   is archived (or deleted) only after the store confirmed the upload and the journal
///   recorded it. A crash at any point is resumed from the journal at the next start: a file
///   whose upload was not confirmed is uploaded again under the same key (same bytes), none is
///   skipped.
/// - Errors specific to a file are retried ``IngestConfiguration/maxAttempts`` times with
///   exponential back-off and full jitter, then the file goes to the failed folder with a
///   `.error.txt` and the rest keep flowing. An error of the whole store
///   (``FirnObjectStore/ObjectStoreError/isStoreWide``: unreachable, missing bucket, full disk,
///   access denied) is retried without limit: it delays files, it fails none.
/// - Back-pressure: at most ``IngestConfiguration/maxFilesInFlight`` files and
///   ``IngestConfiguration/maxBytesInFlight`` bytes upload at once.
/// - Graceful shutdown stops taking new files and lets uploads in flight finish.
public final class Ingestor: Service, Sendable {
    /// The settings.
    public let configuration: IngestConfiguration
    /// Where files go.
    public let store: any ObjectStore
    /// The durable record of every file.
    public let journal: IngestJournal
    let onUploaded: @Sendable (IngestedFile) -> Void
    let refusal: @Sendable (String) -> String?
    let logger: Logger
    let stats = NIOLockedValueBox(IngestStatistics())
    /// When an unreadable landing directory was last reported.
    let landingUnreadableSince = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    /// Creates an ingest.
    ///
    /// - Parameters:
    ///   - configuration: Directories, key template, retries and limits.
    ///   - store: The bucket.
    ///   - journal: The journal (usually `<data-dir>/ingest.sqlite`).
    ///   - logger: Where retries and failures are reported.
    ///   - onUploaded: Called after each confirmed upload (the pipe uses it to load at once).
    ///   - refusal: Why a file, by the object key it would get (its recorded name, see
    ///     ``IngestConfiguration/recordedName(_:)``, in the key template), must not be uploaded
    ///     (no entity's route matches it: the pipe routes by the same key), or `nil` to upload
    ///     it. A refused file goes to the failed folder with the reason, and is journaled as
    ///     failed; a journey resumed after a crash is checked again. Defaults to refusing none.
    public init(
        configuration: IngestConfiguration,
        store: any ObjectStore,
        journal: IngestJournal,
        logger: Logger = Logger(label: "firn.ingest"),
        onUploaded: @escaping @Sendable (IngestedFile) -> Void = { _ in },
        refusal: @escaping @Sendable (String) -> String? = { _ in nil }
    ) {
        self.configuration = configuration
        self.store = store
        self.journal = journal
        self.logger = logger
        self.refusal = refusal
        self.onUploaded = onUploaded
    }

    /// Totals since start.
    public var statistics: IngestStatistics { stats.withLockedValue { $0 } }

    enum Trigger: Sendable {
        case announced(LandingName)
        case rescan
        case finished(String, bytes: Int64)
    }

    enum Work: Sendable {
        case fresh(name: LandingName, size: Int64)
        case resume(IngestedFile)

        /// The name as Firn writes it (see ``LandingName``).
        var name: String {
            switch self {
            case .fresh(let name, _): name.text
            case .resume(let entry): entry.name
            }
        }
        var size: Int64 {
            switch self {
            case .fresh(_, let size): size
            case .resume(let entry): entry.size
            }
        }
    }

    /// Watches the landing directory and uploads files until cancelled or shut down gracefully.
    ///
    /// - Throws: ``IngestError`` when the landing directory cannot be created or watched, or the
    ///   journal cannot be read at start.
    public func run() async throws {
        try createDirectories()
        let (triggers, continuation) = AsyncStream<Trigger>.makeStream()
        var queue: [Work] = try recoverable()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { sources in
                let watcher = LandingWatcher(directory: configuration.landingDirectory)
                let logger = logger
                sources.addTask {
                    do {
                        try await watcher.run { name in continuation.yield(name.map(Trigger.announced) ?? .rescan) }
                    } catch {
                        logger.warning("\(error); new files are found by the rescan only")
                    }
                }
                let interval = configuration.rescanInterval
                sources.addTask {
                    while !Task.isCancelled {
                        continuation.yield(.rescan)
                        try? await Task.sleep(for: interval)
                    }
                }
                await withTaskGroup(of: Void.self) { uploads in
                    var inFlight: Set<String> = []
                    var bytesInFlight: Int64 = 0
                    var announced: Set<LandingName> = []
                    for await trigger in triggers {
                        switch trigger {
                        case .announced(let name):
                            if !IngestConfiguration.isTemporaryName(name.text) { announced.insert(name) }
                            queue += scan(only: announced, inFlight: inFlight, queued: queue, force: true)
                            announced.removeAll()
                        case .rescan:
                            queue += scan(only: nil, inFlight: inFlight, queued: queue, force: false)
                        case .finished(let name, let bytes):
                            inFlight.remove(name)
                            bytesInFlight -= bytes
                        }
                        queue.sort { $0.name < $1.name }
                        while let next = queue.first, inFlight.count < configuration.maxFilesInFlight,
                            inFlight.isEmpty || bytesInFlight + next.size <= configuration.maxBytesInFlight
                        {
                            queue.removeFirst()
                            inFlight.insert(next.name)
                            bytesInFlight += next.size
                            stats.withLockedValue { $0.inFlight = inFlight.count }
                            uploads.addTask {
                                await self.process(next)
                                continuation.yield(.finished(next.name, bytes: next.size))
                            }
                        }
                        stats.withLockedValue { $0.inFlight = inFlight.count }
                    }
                    await uploads.waitForAll()
                }
                sources.cancelAll()
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
    }

    func createDirectories() throws(IngestError) {
        for directory in [
            configuration.landingDirectory, configuration.archiveDirectory, configuration.failedDirectory,
            configuration.processingDirectory,
        ] {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw .landing(path: directory, reason: "cannot create: \(error.localizedDescription)")
            }
        }
    }

    /// Journeys interrupted by a crash: uploads to redo, archives to finish.
    func recoverable() throws(IngestError) -> [Work] {
        var work: [Work] = []
        // A journal shared by the ingests of several landing folders: this one's files only.
        let unfinished = try journal.unfinished().filter { configuration.owns(recordedName: $0.name) }
        // A file claimed (moved to processing) but not yet journaled when the process stopped
        // goes back to the landing directory, to be taken again.
        let claimed = Set(unfinished.map(\.landingPath))
        let processing = configuration.processingDirectory
        for claim in (try? FileManager.default.contentsOfDirectory(atPath: processing)) ?? [] {
            let path = (processing as NSString).appendingPathComponent(claim)
            // Sub-folders are the processing folders of routed landing sub-folders, not claims.
            var isDirectory: ObjCBool = false
            guard !claimed.contains(path), let dash = claim.firstIndex(of: "-"),
                FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            let original = (configuration.landingDirectory as NSString)
                .appendingPathComponent(String(claim[claim.index(after: dash)...]))
            let back =
                FileManager.default.fileExists(atPath: original)
                ? (configuration.landingDirectory as NSString).appendingPathComponent(claim) : original
            rename(path, back)
        }
        for entry in unfinished {
            if FileManager.default.fileExists(atPath: entry.landingPath) {
                work.append(.resume(entry))
            } else if entry.state == .uploaded {
                // Uploaded, and the source already moved: finish, and tell the pipe again (it may
                // not have loaded the object before the crash; it loads nothing twice).
                try journal.recordFinish(
                    entry.id,
                    state: configuration.afterUpload == .archive ? .archived : .deleted,
                    finalPath: nil
                )
                onUploaded(entry)
            } else {
                try journal.recordFinish(
                    entry.id,
                    state: .failed,
                    finalPath: nil,
                    error: "the file left the landing directory before its upload was confirmed"
                )
            }
        }
        return work
    }

    /// Lists the landing directory for files ready to take: `only` (announced names, taken at
    /// once when `force`) or every file unchanged for the stability interval.
    ///
    /// Names are read as bytes, so a name that is not UTF-8 is found too (and taken under its
    /// escaped text, see ``LandingName``).
    func scan(only names: Set<LandingName>?, inFlight: Set<String>, queued: [Work], force: Bool) -> [Work] {
        let candidates: [LandingName]
        if let names {
            candidates = Array(names)
        } else {
            switch LandingName.list(configuration.landingDirectory) {
            case .success(let listed):
                candidates = listed
                landingUnreadableSince.withLockedValue { $0 = nil }
            case .failure(let error):
                // Said once, and again every minute while it lasts: not silent, not a flood.
                let now = ContinuousClock.now
                let isDue = landingUnreadableSince.withLockedValue { since in
                    guard let last = since, now - last < .seconds(60) else {
                        since = now
                        return true
                    }
                    return false
                }
                if isDue {
                    logger.error("landing directory \(configuration.landingDirectory) cannot be listed: \(error)")
                }
                candidates = []
            }
        }
        let queuedNames = Set(queued.map(\.name))
        let now = Date().timeIntervalSince1970
        let stability =
            Double(configuration.stabilityInterval.components.seconds)
            + Double(configuration.stabilityInterval.components.attoseconds) / 1e18
        var ready: [Work] = []
        for name in candidates
        where !IngestConfiguration.isTemporaryName(name.text) && !inFlight.contains(name.text)
            && !queuedNames.contains(name.text)
        {
            var status = stat()
            guard name.withPath(in: configuration.landingDirectory, { stat($0, &status) }) == 0,
                (status.st_mode & S_IFMT) == S_IFREG
            else { continue }
            #if canImport(Darwin)
            let modified = Double(status.st_mtimespec.tv_sec) + Double(status.st_mtimespec.tv_nsec) / 1e9
            #else
            let modified = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
            #endif
            if force || now - modified >= stability {
                ready.append(.fresh(name: name, size: Int64(status.st_size)))
            }
        }
        return ready
    }

    /// One file's journey: checksum and journal, upload with retries, archive.
    func process(_ work: Work) async {
        do {
            let entry: IngestedFile
            switch work {
            case .resume(let resumed):
                entry = resumed
                if entry.state == .uploaded {
                    onUploaded(entry)
                    try finish(entry, state: configuration.afterUpload == .archive ? .archived : .deleted)
                    return
                }
                // Admitted, and the process stopped before the check below.
                if let reason = refusal(entry.objectKey) {
                    try fail(entry, reason: reason)
                    return
                }
            case .fresh(let landing, _):
                // Claim the file: after this rename a producer writing `name` again creates a new
                // file, and the bytes checksummed, uploaded and archived are one content. The
                // claim name adds a token, so it is cut to fit the file system's limit.
                let name = landing.text
                let token = UUID().uuidString.prefix(8).lowercased()
                let claim = LandingName.fitted(name, toBytes: LandingName.maximumBytes - token.count - 1)
                let path = (configuration.processingDirectory as NSString).appendingPathComponent("\(token)-\(claim)")
                // errno is read inside the closure, before the path's buffer is freed.
                let code: Int32 = landing.withPath(in: configuration.landingDirectory) { source in
                    rename(source, path) == 0 ? 0 : errno
                }
                guard code == 0 else {
                    if code != ENOENT {
                        logger.warning(
                            "\(name): cannot move it to \(configuration.processingDirectory): \(String(cString: strerror(code))); trying again at the next rescan"
                        )
                    }
                    return
                }
                if landing.isEscaped {
                    logger.notice("a landing file's name is not UTF-8 text; it is taken as \(name)")
                }
                let size: Int64
                let digest: String
                do {
                    (size, digest) = try Self.checksum(path)
                } catch {
                    // Unreadable: put it back and say so; it is tried again at the next rescan.
                    _ = landing.withPath(in: configuration.landingDirectory) { rename(path, $0) }
                    logger.warning("\(name): cannot read it to checksum (\(error)); trying again at the next rescan")
                    return
                }
                let recorded = configuration.recordedName(name)
                let key = configuration.keyTemplate.key(
                    name: recorded,
                    landedAtEpochSeconds: Int64(Date().timeIntervalSince1970)
                )
                switch try journal.admit(name: recorded, landingPath: path, size: size, sha256: digest, key: key) {
                case .duplicate(let duplicate, let earlier):
                    logger.info(
                        "\(name): same name and content as an earlier file (object \(earlier.objectKey)); not uploaded again"
                    )
                    stats.withLockedValue { $0.filesDuplicate += 1 }
                    FirnMetrics.ingested(outcome: "duplicate")
                    try finish(duplicate, state: .duplicate)
                    return
                case .upload(let admitted):
                    if let reason = refusal(key) {
                        try fail(admitted, reason: reason)
                        return
                    }
                    entry = admitted
                }
            }
            guard let uploaded = try await upload(entry) else { return }
            onUploaded(uploaded)
            try finish(uploaded, state: configuration.afterUpload == .archive ? .archived : .deleted)
        } catch {
            logger.error("\(work.name): \(error)")
        }
    }

    /// Uploads with retries; returns the entry as uploaded, or `nil` if it failed for good or the
    /// task was cancelled (the journal keeps it for the next start).
    func upload(_ entry: IngestedFile) async throws(IngestError) -> IngestedFile? {
        var attempts = entry.attempts
        var outages = 0
        let key: ObjectKey
        do {
            key = try ObjectKey(entry.objectKey)
        } catch {
            try fail(entry, reason: error.description)
            return nil
        }
        while true {
            do {
                let info = try await store.put(handingOver: entry.landingPath, key: key)
                try journal.recordUpload(entry.id, etag: info.etag)
                stats.withLockedValue {
                    $0.filesUploaded += 1
                    $0.bytesUploaded += info.size
                }
                FirnMetrics.ingested(outcome: "uploaded", bytes: info.size)
                var uploaded = entry
                uploaded.state = .uploaded
                uploaded.etag = info.etag
                return uploaded
            } catch let error as IngestError {
                throw error
            } catch {
                if Task.isCancelled { return nil }
                let message = "\(error)"
                let delay: Duration
                // The store's trouble (unreachable, missing bucket, full disk, access denied…)
                // says nothing about this file: wait for the store, do not fail the file.
                if (error as? ObjectStoreError)?.isStoreWide == true {
                    if Task.isShuttingDownGracefully { return nil }  // the journal resumes it next start
                    outages += 1
                    delay = backoff(outages)
                    if outages == 1 || outages % 10 == 0 {
                        logger.warning("\(entry.name): store unavailable (\(message)); retrying in \(delay)")
                    }
                } else {
                    attempts += 1
                    try journal.recordAttempt(entry.id, error: message)
                    if attempts >= configuration.maxAttempts {
                        try fail(entry, reason: "upload failed \(attempts) times; last error: \(message)")
                        return nil
                    }
                    delay = backoff(attempts)
                    logger.warning(
                        "\(entry.name): upload attempt \(attempts) failed (\(message)); retrying in \(delay)"
                    )
                }
                stats.withLockedValue { stats in
                    stats.retries += 1
                    stats.lastRetryAt = Timestamp.now().description
                    stats.lastRetryMessage = "\(entry.name): \(message)"
                }
                FirnMetrics.storeRetried(stage: "ingest")
                do { try await Task.sleep(for: delay) } catch { return nil }
            }
        }
    }

    /// Exponential back-off with full jitter: uniform in [0, min(max, initial × 2^(n-1))].
    func backoff(_ attempt: Int) -> Duration {
        let exponent = min(attempt - 1, 30)
        let ceiling = min(configuration.maxBackoff, configuration.initialBackoff * (1 << exponent))
        let milliseconds = ceiling.components.seconds * 1000 + ceiling.components.attoseconds / 1_000_000_000_000_000
        return .milliseconds(Int64.random(in: 0...max(1, milliseconds)))
    }
}
