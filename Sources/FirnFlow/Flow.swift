import FirnCore
import FirnIngest
import FirnMetrics
import FirnObjectStore
import FirnPipe
import FirnTasks
import FirnWarehouse
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// What `firn run` (and `firn ingest`, `firn pipe`) start, and how.
public struct FlowConfiguration: Sendable {
    /// Ingest settings; `nil` runs no ingest (`firn pipe`).
    public var ingest: IngestConfiguration?
    /// Pipe settings; `nil` runs no pipe (`firn ingest`).
    public var pipe: PipeConfiguration?
    /// How often the status line is printed. Defaults to `5` seconds.
    public var statusInterval: Duration = .seconds(5)
    /// The tasks to schedule, when the pipe runs; empty runs no scheduler. When the built-in
    /// `load` task has a schedule, the pipe loads only when it runs. Defaults to none.
    public var tasks: [TaskDefinition] = []
    /// Scheduler settings.
    public var scheduler = SchedulerConfiguration()
    /// With several entities: which entity each file belongs to, and the landing sub-folders
    /// ingest watches. Defaults to `nil`: one entity, every file its own.
    public var routing: EntityRouting?

    /// Creates a configuration.
    public init(ingest: IngestConfiguration?, pipe: PipeConfiguration?) {
        self.ingest = ingest
        self.pipe = pipe
    }
}

/// The whole flow in one process: ingest watches the landing directory and uploads to the
/// bucket, the pipe loads each new object through the SCD core, and a status line reports
/// files and rows per stage and freshness.
///
/// Ingest announces each confirmed upload to the pipe in process, so a file is in SCD1 and SCD2
/// moments after it lands; the pipe also lists the bucket, so objects from elsewhere load too.
/// ``run(extraServices:print:)`` runs everything as one `ServiceGroup`: SIGINT or SIGTERM stop the
/// extra services (the generator) first, then ingest (uploads in flight finish), then the pipe
/// (announced objects load), then the status line prints a last time. A restart continues from
/// the journal and load history: nothing lost, nothing doubled.
public final class Flow: Sendable {
    /// The settings.
    public let configuration: FlowConfiguration
    /// The bucket.
    public let store: any ObjectStore
    /// Every entity's warehouse, in the order of ``EntityRouting``'s indexes.
    public let warehouses: [any Warehouse]
    /// The warehouse (needed when the pipe runs, or for status counts): the first entity's
    /// when there are several.
    public var warehouse: (any Warehouse)? { warehouses.first }
    /// Ingest's journal, when ingest runs.
    public let journal: IngestJournal?
    /// The ingest service of the landing directory itself, if ingest runs.
    public let ingestor: Ingestor?
    /// Every ingest service: the landing directory's, then one per routed landing sub-folder.
    public let ingestors: [Ingestor]
    /// The pipe service, if configured.
    public let pipe: AutoIngestPipe?
    /// The task scheduler, if tasks are configured and the pipe runs.
    public let scheduler: TaskScheduler?
    /// Landing-to-commit times.
    public let freshness = FreshnessTracker()
    let logger: Logger
    let started = ContinuousClock.now
    let generatedBox = NIOLockedValueBox(GeneratedTally())

    /// What the generator has written since start (zero without `--generate`).
    public var generated: GeneratedTally { generatedBox.withLockedValue { $0 } }

    /// Seconds since the flow was assembled.
    public var uptimeSeconds: Double { (ContinuousClock.now - started).seconds }
    let group = NIOLockedValueBox<ServiceGroup?>(nil)

    /// Assembles the flow.
    ///
    /// - Parameters:
    ///   - configuration: Which stages run and how.
    ///   - store: The bucket.
    ///   - warehouse: The warehouse; required when the pipe runs.
    ///   - journal: Ingest's journal; required when ingest runs.
    ///   - logger: For the stages' warnings and errors.
    ///   - onLoaded: Called after each object's load commits (the benchmark uses it).
    /// - Throws: ``TaskError`` when the task definitions are invalid.
    public convenience init(
        configuration: FlowConfiguration,
        store: any ObjectStore,
        warehouse: (any Warehouse)?,
        journal: IngestJournal?,
        logger: Logger = Logger(label: "firn"),
        onLoaded: @escaping @Sendable (PipeLoad, Double?) -> Void = { _, _ in }
    ) throws(TaskError) {
        try self.init(
            configuration: configuration,
            store: store,
            warehouses: warehouse.map { [$0] } ?? [],
            journal: journal,
            logger: logger,
            onLoaded: onLoaded
        )
    }

    /// Assembles the flow of several entities (``FlowConfiguration/routing``).
    ///
    /// - Parameters:
    ///   - warehouses: One per entity, on one database, in the routing's order; required
    ///     (non-empty) when the pipe runs. The first keeps the shared ledgers and runs the tasks.
    ///   - The rest: as in ``init(configuration:store:warehouse:journal:logger:onLoaded:)``.
    /// - Throws: ``TaskError`` when the task definitions are invalid.
    public init(
        configuration: FlowConfiguration,
        store: any ObjectStore,
        warehouses: [any Warehouse],
        journal: IngestJournal?,
        logger: Logger = Logger(label: "firn"),
        onLoaded: @escaping @Sendable (PipeLoad, Double?) -> Void = { _, _ in }
    ) throws(TaskError) {
        self.configuration = configuration
        self.store = store
        self.warehouses = warehouses
        self.journal = journal
        self.logger = logger
        let freshness = self.freshness
        let schedulerBox = NIOLockedValueBox<TaskScheduler?>(nil)
        let pipe: AutoIngestPipe?
        if var pipeConfiguration = configuration.pipe, !warehouses.isEmpty {
            if let load = configuration.tasks.first(where: { task in task.name == TaskDefinition.load.name }) {
                let isOnData: Bool
                if case .onData = load.trigger { isOnData = true } else { isOnData = false }
                pipeConfiguration.isAutomatic = isOnData
            }
            let route: @Sendable (String) -> Int?
            if let routing = configuration.routing { route = routing.route } else { route = { _ in 0 } }
            pipe = AutoIngestPipe(
                store: store,
                warehouses: warehouses,
                route: route,
                configuration: pipeConfiguration,
                logger: logger
            ) {
                load in
                let seconds = freshness.committed(
                    key: load.object.key.rawValue,
                    atNanoseconds: load.committedAtNanoseconds
                )
                if let seconds { FirnMetrics.freshness(seconds: seconds) }
                if load.report.status == .loaded { schedulerBox.withLockedValue { $0 }?.noteLoadCommitted() }
                onLoaded(load, seconds)
            }
        } else {
            pipe = nil
        }
        self.pipe = pipe
        if !warehouses.isEmpty, pipe != nil, !configuration.tasks.isEmpty {
            let scheduler = try TaskScheduler(
                tasks: configuration.tasks,
                warehouses: warehouses,
                pipe: pipe,
                configuration: configuration.scheduler,
                logger: logger
            )
            schedulerBox.withLockedValue { $0 = scheduler }
            self.scheduler = scheduler
        } else {
            scheduler = nil
        }
        if let ingestConfiguration = configuration.ingest, let journal {
            let uploaded: @Sendable (IngestedFile) -> Void = { file in
                let now = Int64(Date().timeIntervalSince1970 * 1e9)
                let taken = Timestamp(canonical: file.landedAt).map { $0.microseconds * 1000 } ?? now
                let landed = freshness.uploaded(name: file.name, key: file.objectKey, takenAtNanoseconds: taken)
                if let pipe, let key = try? ObjectKey(file.objectKey), let etag = file.etag {
                    pipe.announce(
                        ObjectInfo(key: key, size: file.size, etag: etag, landedAt: Timestamp(microseconds: landed / 1000))
                    )
                }
            }
            let routing = configuration.routing
            let refusal: @Sendable (String) -> String? = { name in
                guard let routing, routing.route(name) == nil else { return nil }
                return "no entity's route matches it (routes: \(routing.description))"
            }
            ingestors = ([ingestConfiguration] + (routing?.folders ?? []).map(ingestConfiguration.folder)).map {
                Ingestor(
                    configuration: $0,
                    store: store,
                    journal: journal,
                    logger: logger,
                    onUploaded: uploaded,
                    refusal: refusal
                )
            }
            ingestor = ingestors.first
        } else {
            ingestors = []
            ingestor = nil
        }
    }

    /// Runs the flow until SIGINT or SIGTERM (graceful: drains in-flight work) or cancellation.
    ///
    /// - Parameters:
    ///   - extraServices: Services that feed the flow (the generator); stopped first.
    ///   - watchers: Services that watch the flow (the dashboard); stopped last, after the
    ///     status line's last print.
    ///   - print: Where status lines go.
    public func run(
        extraServices: [any Service] = [],
        watchers: [any Service] = [],
        print: @escaping @Sendable (String) -> Void
    ) async throws {
        await warnOfStrandedJourneys()
        var services: [any Service] = watchers
        services.append(
            StatusReporter(interval: configuration.statusInterval, line: { [self] in await currentStatusLine() }, print: print)
        )
        if let scheduler { services.append(scheduler) }
        if let pipe {
            services.append(pipe)
            services.append(WorkerHeartbeat(identity: .current, pipe: pipe, logger: logger))
        }
        services += ingestors as [any Service]
        services += extraServices
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        self.group.withLockedValue { $0 = group }
        try await group.run()
    }

    /// Says which journeys in the journal no ingest of this flow will finish: files taken from
    /// a landing folder that no route names any more (they wait in its processing folder).
    func warnOfStrandedJourneys() async {
        guard let journal, !ingestors.isEmpty else { return }
        let configurations = ingestors.map(\.configuration)
        let stranded = await runBlocking {
            ((try? journal.unfinished()) ?? []).filter { entry in
                !configurations.contains { $0.owns(recordedName: entry.name) }
            }
        }
        for entry in stranded {
            logger.warning(
                "\(entry.name): its upload was begun from a landing folder no route names now; it waits in \(entry.landingPath) until a route names that folder again"
            )
        }
    }

    /// Shuts the running flow down as SIGTERM would: the generator first, then ingest (uploads
    /// in flight finish), then the pipe (announced objects load).
    public func shutDownGracefully() async {
        await group.withLockedValue { $0 }?.triggerGracefulShutdown()
    }

    /// The status line (``statusLine(liveRows:)``) with SCD1's row count read from the
    /// warehouse (every entity's, added up).
    public func currentStatusLine() async -> String {
        guard pipe != nil else { return statusLine() }
        var rows = 0
        for warehouse in warehouses {
            guard let count = try? await warehouse.liveRowCount() else { return statusLine() }
            rows += count
        }
        return statusLine(liveRows: rows)
    }

    /// Every ingest's totals, added up (the landing directory's and its routed sub-folders').
    public var ingestStatistics: IngestStatistics? {
        guard let first = ingestors.first?.statistics else { return nil }
        return ingestors.dropFirst().reduce(into: first) { total, ingestor in total += ingestor.statistics }
    }

    /// One line: files and rows per stage, freshness, rejects; SCD1's rows when given.
    public func statusLine(liveRows: Int? = nil) -> String {
        let elapsed = ContinuousClock.now - started
        var parts = ["[\(elapsed.components.seconds)s]"]
        if let stats = ingestStatistics {
            var part = "ingest: \(stats.filesUploaded) files uploaded"
            if stats.inFlight > 0 { part += ", \(stats.inFlight) in flight" }
            if stats.filesDuplicate > 0 { part += ", \(stats.filesDuplicate) duplicate" }
            if stats.filesFailed > 0 { part += ", \(stats.filesFailed) FAILED (see failed folder)" }
            if stats.retries > 0 { part += ", \(stats.retries) retries" }
            parts.append(part)
        }
        if let pipe {
            let stats = pipe.statistics
            var part = "pipe: \(stats.objectsLoaded) files, \(stats.rowsLoaded) rows loaded"
            if stats.rowsRejected > 0 { part += ", \(stats.rowsRejected) rejected" }
            if stats.objectsSkipped > 0 { part += ", \(stats.objectsSkipped) skipped" }
            if stats.objectsFailed > 0 { part += ", \(stats.objectsFailed) files failed" }
            parts.append(part)
            parts.append("SCD2: +\(stats.versionsOpened) versions, \(stats.versionsClosed) closed")
            if let liveRows { parts.append("SCD1: \(liveRows) rows") }
            parts.append(freshness.summary().description)
            if let error = stats.lastError { parts.append("last error: \(error)") }
        }
        return parts.joined(separator: " | ")
    }
}

/// Which entity each file belongs to, when a flow carries several: landing files by their
/// recorded name (`customers/x.csv` for a file in the sub-folder `customers`), bucket objects by
/// their key.
public struct EntityRouting: Sendable {
    /// The index of a name's or key's entity among the flow's warehouses; `nil` for none.
    public var route: @Sendable (String) -> Int?
    /// The landing sub-folders ingest watches, one per entity routed by folder (`customers`).
    public var folders: [String]
    /// The routes, as messages list them: `customers/ (customer), orders-*.jsonl (orders)`.
    public var description: String

    /// Creates a routing.
    public init(route: @escaping @Sendable (String) -> Int?, folders: [String], description: String) {
        self.route = route
        self.folders = folders
        self.description = description
    }
}

/// Files and rows the generator has written into the landing directory.
public struct GeneratedTally: Sendable, Hashable {
    /// Files renamed into place.
    public var files = 0
    /// Change rows in them.
    public var rows = 0

    /// Creates an empty tally.
    public init() {}
}
