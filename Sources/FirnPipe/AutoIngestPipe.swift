import FirnCore
import FirnMetrics
import FirnObjectStore
import FirnWarehouse
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// How the pipe finds and loads objects.
public struct PipeConfiguration: Sendable, Hashable {
    /// How often the bucket is listed for objects nobody announced. Defaults to `1` second.
    public var pollInterval: Duration = .seconds(1)
    /// When object keys start with their UTC date folder (`YYYY/MM/DD/…`, ingest's default key
    /// template), frequent polls list from the folder of this long ago instead of the bucket's
    /// first key, so their cost does not grow with the bucket. Objects elsewhere (an older
    /// folder, keys sorting before the date folders) are found by the full listing at start and
    /// every ``fullListingInterval``, or when announced. Defaults to `nil`: every poll lists the
    /// whole bucket, and every listed object is checked against what was taken.
    public var dateFolderWindow: Duration?
    /// With a ``dateFolderWindow``, how often the whole bucket is listed (paginated) besides:
    /// the first poll after the pipe starts lists it whole, and then a poll at least this long
    /// after the last complete full listing, as Snowpipe's `REFRESH` does. So an object
    /// uploaded days before the pipe runs, left by a process killed between upload and load, or
    /// under a key outside the date folders is loaded at start, or within this interval when it
    /// appears while the pipe runs. Objects already taken are skipped (`firn_pipe_objects`).
    /// Defaults to `5` minutes.
    public var fullListingInterval: Duration = .seconds(300)
    /// Where objects from remote buckets are downloaded before loading (files removed after).
    public var downloadDirectory: String
    /// Reader settings (chunk size, field size limit). Defaults to ``ReaderConfiguration``'s defaults.
    public var reader: ReaderConfiguration = .init()
    /// Whether the pipe loads on its own, on announcements and polls (the `load` task's
    /// default, on data). When `false` it loads only when ``AutoIngestPipe/loadNow()`` is
    /// called (the `load` task on a schedule). Defaults to `true`.
    public var isAutomatic = true
    /// An SQS queue receiving the bucket's S3 event notifications, followed while the pipe
    /// runs so objects are loaded as soon as S3 reports them, also when another process or host
    /// put them. Only for an ``FirnObjectStore/S3Bucket`` store. A message is deleted once its
    /// objects are taken, so one not handled comes back; listing every ``pollInterval``
    /// continues besides. Defaults to `nil` (listing only).
    public var eventQueue: S3EventQueue?

    /// Creates a configuration that downloads into `downloadDirectory`.
    public init(downloadDirectory: String) {
        self.downloadDirectory = downloadDirectory
    }
}

/// One object the pipe took, with what loading it did.
public struct PipeLoad: Sendable {
    /// The object.
    public var object: ObjectInfo
    /// The load's report (skipped when the same content was loaded before).
    public var report: FileLoadReport
    /// When the load committed, as wall-clock nanoseconds since 1970.
    public var committedAtNanoseconds: Int64
}

/// Running totals of the pipe, for status lines.
public struct PipeStatistics: Sendable, Hashable {
    /// Objects loaded.
    public var objectsLoaded = 0
    /// Objects skipped (same name and checksum loaded before).
    public var objectsSkipped = 0
    /// Objects that could not be read (see load history).
    public var objectsFailed = 0
    /// Rows staged.
    public var rowsLoaded: Int64 = 0
    /// Rows rejected.
    public var rowsRejected: Int64 = 0
    /// Versions opened and closed in history.
    public var versionsOpened: Int64 = 0
    /// Versions closed in history.
    public var versionsClosed: Int64 = 0
    /// The last listing or load error, if the last attempt failed.
    public var lastError: String?
}

/// The auto-ingest pipe (Snowpipe): notices new objects in the bucket and loads each exactly
/// once through the SCD core, so staging, SCD1 and SCD2 are current when its load commits.
///
/// Objects are noticed three ways: announced in process (``announce(_:)``, which ingest calls
/// after each confirmed upload, so a file is loaded at once), from S3 event notifications on an
/// SQS queue when ``PipeConfiguration/eventQueue`` is set, and by listing the bucket every
/// ``PipeConfiguration/pollInterval`` (whole, or from ``PipeConfiguration/dateFolderWindow``,
/// then whole at start and every ``PipeConfiguration/fullListingInterval``) for objects put by
/// another process or host, or before the pipe started: every object in the bucket is loaded,
/// however late the pipe runs. Exactly once: an object is taken once per key and ETag
/// (`firn_pipe_objects`), and its content once per key and checksum (load history), so a
/// re-listed, re-announced or re-uploaded object loads nothing twice, also across restarts.
///
/// With several entities, each object loads into the warehouse of the entity its key routes to
/// (``warehouses``); the first warehouse also keeps the ledger every entity shares (claims,
/// objects taken). An object no route matches is recorded as taken with status `failed`, and
/// logged: it loads nowhere, and is not tried again until its content changes.
public final class AutoIngestPipe: Service, Sendable {
    /// The bucket.
    public let store: any ObjectStore
    /// One warehouse per entity, the ledger's first.
    public let warehouses: [any Warehouse]
    /// The warehouse that keeps the ledger (the only one, or the first entity's).
    public var warehouse: any Warehouse { warehouses[0] }
    /// The index in ``warehouses`` of the entity an object key belongs to; `nil` for none.
    let route: @Sendable (String) -> Int?
    /// Settings.
    public let configuration: PipeConfiguration
    let logger: Logger
    let onLoaded: @Sendable (PipeLoad) -> Void
    let triggers: AsyncStream<Trigger>
    let continuation: AsyncStream<Trigger>.Continuation
    let stats = NIOLockedValueBox(PipeStatistics())
    let claims = NIOLockedValueBox(0)
    /// Objects announced and not yet taken up, in order: taken together at the next wake-up.
    let announced = NIOLockedValueBox<[ObjectInfo]>([])
    let suspended = NIOLockedValueBox(false)
    /// Whether a `.poll` is already queued: polls coalesce instead of piling up behind a slow load.
    let pollQueued = NIOLockedValueBox(false)
    /// When the last complete listing of the whole bucket started; `nil` before the first.
    let lastFullListing = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    /// Announced objects' files, prepared while the objects before them load (a directory
    /// bucket whose objects load as they are announced: its objects are files already); `nil`
    /// otherwise.
    let preparedFiles: PreparedFiles?
    /// Whether announced objects are prepared now: while ``run()`` runs, until it shuts down.
    let isPreparing = NIOLockedValueBox(false)
    /// Announced objects not yet prepared, and the wake-ups of the thread that prepares them.
    let toPrepare = NIOLockedValueBox<[ObjectInfo]>([])
    let preparations: AsyncStream<Void>
    let preparationContinuation: AsyncStream<Void>.Continuation

    enum Trigger: Sendable {
        /// Objects were announced.
        case announced
        case poll
    }

    /// Creates a pipe.
    ///
    /// - Parameters:
    ///   - store: The bucket to load from.
    ///   - warehouse: The warehouse to load into.
    ///   - configuration: Polling, listing window, event queue and reader settings.
    ///   - logger: Where load failures are reported.
    ///   - onLoaded: Called after each object's load commits.
    public convenience init(
        store: any ObjectStore,
        warehouse: any Warehouse,
        configuration: PipeConfiguration,
        logger: Logger = Logger(label: "firn.pipe"),
        onLoaded: @escaping @Sendable (PipeLoad) -> Void = { _ in }
    ) {
        self.init(
            store: store,
            warehouses: [warehouse],
            route: { _ in 0 },
            configuration: configuration,
            logger: logger,
            onLoaded: onLoaded
        )
    }

    /// Creates a pipe that loads several entities, each object into its entity's warehouse.
    ///
    /// - Parameters:
    ///   - store: The bucket to load from.
    ///   - warehouses: One per entity, on one database; the first keeps the shared ledger.
    ///   - route: The index in `warehouses` of an object key's entity, or `nil` when no
    ///     entity's route matches it.
    ///   - configuration: Polling, listing window, event queue and reader settings.
    ///   - logger: Where load failures are reported.
    ///   - onLoaded: Called after each object's load commits.
    public init(
        store: any ObjectStore,
        warehouses: [any Warehouse],
        route: @escaping @Sendable (String) -> Int?,
        configuration: PipeConfiguration,
        logger: Logger = Logger(label: "firn.pipe"),
        onLoaded: @escaping @Sendable (PipeLoad) -> Void = { _ in }
    ) {
        precondition(!warehouses.isEmpty, "a pipe needs a warehouse")
        self.store = store
        self.warehouses = warehouses
        self.route = route
        self.configuration = configuration
        self.logger = logger
        self.onLoaded = onLoaded
        (triggers, continuation) = AsyncStream<Trigger>.makeStream()
        // About one chunk's worth of records, besides what the loader holds.
        preparedFiles =
            store is DirectoryBucket && configuration.isAutomatic
            ? PreparedFiles(rowLimit: configuration.reader.chunkRows) : nil
        (preparations, preparationContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Totals since start.
    public var statistics: PipeStatistics { stats.withLockedValue { $0 } }

    /// Objects announced and not yet taken up (the queue between ingest and the pipe).
    public var waitingObjects: Int { announced.withLockedValue { $0.count } }

    /// Tells the pipe about a new object (ingest calls this after a confirmed upload).
    public func announce(_ object: ObjectInfo) {
        announced.withLockedValue { $0.append(object) }
        if isPreparing.withLockedValue({ $0 }) {
            toPrepare.withLockedValue { $0.append(object) }
            preparationContinuation.yield()
        }
        continuation.yield(.announced)
    }

    /// Whether automatic loading is paused (the `load` task suspended).
    public var isSuspended: Bool { suspended.withLockedValue { $0 } }

    /// Pauses or resumes automatic loading (the `load` task suspended or resumed). Objects that
    /// arrive while suspended are found by the first listing after resuming.
    public func setSuspended(_ isSuspended: Bool) {
        let wasSuspended = suspended.withLockedValue { state in
            defer { state = isSuspended }
            return state
        }
        if wasSuspended && !isSuspended { queuePoll() }
    }

    func queuePoll() {
        let alreadyQueued = pollQueued.withLockedValue { queued in
            defer { queued = true }
            return queued
        }
        if !alreadyQueued { continuation.yield(.poll) }
    }

    /// What one listing and its loads did.
    public struct PollOutcome: Sendable, Hashable {
        /// Objects loaded.
        public var objects = 0
        /// Rows staged.
        public var rows: Int64 = 0
        /// Errors met (listing, or objects that could not be taken; they are retried at the next poll).
        public var errors: [String] = []
    }

    /// Lists the bucket and loads every object not taken yet, now (the `load` task on a
    /// schedule calls this); returns what this call alone did.
    public func loadNow() async -> PollOutcome {
        await poll()
    }

    /// Loads announced and listed objects until cancelled or shut down gracefully (the object
    /// being loaded finishes first).
    public func run() async throws {
        try FileManager.default.createDirectory(
            atPath: configuration.downloadDirectory,
            withIntermediateDirectories: true
        )
        let (continuation, preparationContinuation) = (self.continuation, self.preparationContinuation)
        let interval = configuration.pollInterval
        let isAutomatic = configuration.isAutomatic
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled && isAutomatic {
                        self.queuePoll()
                        try? await Task.sleep(for: interval)
                    }
                }
                if isAutomatic, let queue = configuration.eventQueue {
                    group.addTask { await self.follow(queue) }
                }
                if isAutomatic, preparedFiles != nil {
                    group.addTask { await self.prepareAnnounced() }
                }
                for await trigger in triggers {
                    // Everything announced so far is taken together (several files in one
                    // transaction when they queued up while the last ones loaded).
                    let objects: [ObjectInfo] =
                        if case .announced = trigger {
                            announced.withLockedValue { queue in
                                defer { queue = [] }
                                return queue
                            }
                        } else { [] }
                    if !isAutomatic || suspended.withLockedValue({ $0 }) { continue }
                    switch trigger {
                    case .announced:
                        var rest = objects[...]
                        while !rest.isEmpty {
                            await take(Array(rest.prefix(FileLoader.filesPerBatch)))
                            rest = rest.dropFirst(FileLoader.filesPerBatch)
                        }
                    case .poll:
                        pollQueued.withLockedValue { $0 = false }
                        _ = await poll()
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: { [isPreparing] in
            isPreparing.withLockedValue { $0 = false }
            continuation.finish()
            preparationContinuation.finish()
        }
    }

    /// Lists the bucket and takes every object not taken before: from the date-folder window
    /// when one is configured, except at the first poll and every
    /// ``PipeConfiguration/fullListingInterval``, when it lists the whole bucket.
    @discardableResult
    func poll() async -> PollOutcome {
        var outcome = PollOutcome()
        let started = ContinuousClock.now
        let isFull =
            configuration.dateFolderWindow == nil
            || lastFullListing.withLockedValue { last in
                last.map { started - $0 >= configuration.fullListingInterval } ?? true
            }
        do {
            let start =
                isFull
                ? nil
                : configuration.dateFolderWindow.map { window in
                    let then = Timestamp(microseconds: Timestamp.now().microseconds - window.microseconds)
                    // "YYYY-MM-DD…" → "YYYY/MM/DD": list the folders from that day on.
                    return String(then.description.prefix(10)).replacingOccurrences(of: "-", with: "/")
                }
            let objects = try await store.list(after: try start.map(ObjectKey.init))
            // Listed to the end: the next full listing is due an interval from now. Objects that
            // could not be taken below are tried again at the next poll that lists them.
            if isFull { lastFullListing.withLockedValue { $0 = started } }
            guard !objects.isEmpty else { return outcome }
            let taken = try await warehouse.takenPipeObjects(after: start)
            var fresh = objects.filter { !taken.contains(Self.claimName($0)) }[...]
            // A slice at a time, so that a shutdown stops between them.
            while !fresh.isEmpty, !Task.isCancelled {
                let result = await take(Array(fresh.prefix(FileLoader.filesPerBatch)))
                fresh = fresh.dropFirst(FileLoader.filesPerBatch)
                outcome.objects += result.objects
                outcome.rows += result.rows
                outcome.errors += result.errors
            }
        } catch {
            outcome.errors.append(note(error: "listing \(store.location): \(error)"))
        }
        return outcome
    }

    /// Loads the objects not taken before, in order, several in one transaction when they fit
    /// (``FileLoader/load(_:progress:loaded:)``), except those whose claim another worker
    /// sharing the warehouse holds (then that worker loads them; see
    /// ``PipeLedger/withClaims(on:_:)``).
    @discardableResult
    func take(_ objects: [ObjectInfo]) async -> PollOutcome {
        var seen: Set<String> = []
        let objects = objects.filter { seen.insert(Self.claimName($0)).inserted }
        guard !objects.isEmpty else { return PollOutcome() }
        claims.withLockedValue { $0 += objects.count }
        defer { claims.withLockedValue { $0 -= objects.count } }
        let byName = Dictionary(objects.map { (Self.claimName($0), $0) }, uniquingKeysWith: { first, _ in first })
        do {
            return try await warehouse.withClaims(on: objects.map(Self.claimName)) { names in
                await takeClaimed(names.compactMap { byName[$0] })
            } ?? PollOutcome()
        } catch {
            let keys = objects.count == 1 ? objects[0].key.rawValue : "\(objects.count) objects"
            return PollOutcome(errors: [note(error: "\(keys): \(error)")])
        }
    }

    static func claimName(_ object: ObjectInfo) -> String {
        PipeObjectTaken.name(key: object.key.rawValue, etag: object.etag)
    }

    /// Objects this pipe is taking now (claims held or being asked for).
    public var claimedObjects: Int { claims.withLockedValue { $0 } }

    @discardableResult
    func note(error message: String) -> String {
        logger.error("\(message)")
        stats.withLockedValue { $0.lastError = message }
        return message
    }
}

extension Duration {
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}
