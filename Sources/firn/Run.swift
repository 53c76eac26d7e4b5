import ArgumentParser
import FirnConfig
import FirnFlow
import FirnGenerate
import FirnHTTP
import FirnIngest
import FirnObjectStore
import FirnPipe
import FirnWarehouse
import Foundation
import Logging
import ServiceLifecycle

/// Flags shared by the long-running commands (`run`, `ingest`, `pipe`).
struct FlowOptions: ParsableArguments {
    @Option(help: "Seconds between status lines.")
    var statusInterval: Double = 5

    @OptionGroup var logging: LogOptions

    @Flag(help: "Delete landing files after upload instead of archiving them (or ingest.after_upload: delete).")
    var deleteAfterUpload = false

    @Option(
        help: ArgumentHelp(
            "Object key template: {name} plus {yyyy} {MM} {dd} {HH} (UTC landing time).",
            discussion: "Default: ingest.key_template in the config, else {yyyy}/{MM}/{dd}/{name}."
        )
    )
    var keyTemplate: String?

    @Flag(help: "Create the S3 bucket first if it does not exist (for local S3 servers such as moto or MinIO).")
    var createBucket = false

    @Option(
        name: .customLong("sqs-queue"),
        help: ArgumentHelp(
            "SQS queue URL receiving the s3:// bucket's ObjectCreated notifications (run and pipe only).",
            discussion: """
                The pipe loads objects as soon as S3 reports them, and keeps listing the bucket as the \
                safety net. The queue must be in the bucket's region; credentials come from the AWS \
                environment, as for the bucket.
                """,
            valueName: "url"
        )
    )
    var sqsQueue: String?

    @Option(
        help: ArgumentHelp(
            "Seconds between the pipe's listings of the whole bucket (run and pipe only).",
            discussion: """
                The pipe lists the whole bucket when it starts and then every this many seconds; \
                its polls every second in between list only the last two days' date folders with \
                the default key template. Objects already loaded are skipped.
                """,
            valueName: "seconds"
        )
    )
    var fullListingInterval: Double = 300

    /// Creates the bucket when asked to and it is an S3 bucket.
    func prepare(_ store: any ObjectStore) async throws {
        if createBucket, let bucket = store as? S3Bucket { try await bucket.createBucket() }
    }

    func validate() throws {
        try NumericBounds.statusInterval.check(statusInterval, "--status-interval")
        try NumericBounds.fullListingInterval.check(fullListingInterval, "--full-listing-interval")
        if let keyTemplate {
            do { _ = try ObjectKeyTemplate(keyTemplate) } catch { throw ValidationError(error.description) }
        }
        if let sqsQueue {
            do { _ = try S3EventQueue.queueURL(sqsQueue) } catch {
                throw ValidationError("--sqs-queue: \(error.description)")
            }
        }
    }

    /// The queue `--sqs-queue` names, in the bucket's region and signed with the bucket's
    /// credentials; `nil` without the option.
    ///
    /// - Throws: `ValidationError` when the bucket is not an `s3://` bucket;
    ///   `ObjectStoreError` when the AWS credentials are missing.
    func eventQueue(_ settings: FirnSettings) throws -> S3EventQueue? {
        guard let sqsQueue else { return nil }
        guard case .s3(let location) = settings.resolvedBucket else {
            throw ValidationError(
                "--sqs-queue needs an s3:// bucket (--bucket or bucket in the config), "
                    + "but the bucket is \(settings.resolvedBucket)"
            )
        }
        return try S3EventQueue(
            url: try S3EventQueue.queueURL(sqsQueue),
            region: location.region,
            credentials: try S3Credentials.fromEnvironment(ProcessInfo.processInfo.environment),
            httpClient: S3Client.shared
        )
    }

    /// Sends log messages to standard error at the chosen level.
    func bootstrapLogging() -> Logger {
        logging.bootstrap()
    }

    /// Ingest's settings: the config file's `ingest:` section, then the flags.
    func ingestConfiguration(_ settings: FirnSettings) throws -> IngestConfiguration {
        var configuration = IngestConfiguration(
            landingDirectory: settings.resolvedLandingDirectory,
            dataDirectory: settings.dataDirectory
        )
        settings.ingest.apply(to: &configuration)
        if deleteAfterUpload { configuration.afterUpload = .delete }
        if let keyTemplate { configuration.keyTemplate = try ObjectKeyTemplate(keyTemplate) }
        return configuration
    }

    var interval: Duration { .milliseconds(Int64(statusInterval * 1000)) }
}

/// `firn run`: ingest, pipe and status together on embedded defaults.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole flow: watch the landing directory, upload to the bucket, load into SCD1 and SCD2.",
        discussion: """
            Drop change files (CSV or JSON Lines) into the landing directory (default \
            <data-dir>/landing), written under a temporary name (.name or name.tmp) and then renamed. \
            Each is uploaded to the bucket, archived, and loaded exactly once; a status line every few \
            seconds shows files and rows per stage and freshness. Ctrl-C (SIGINT) or SIGTERM finishes \
            the work in flight and exits; running again continues where it stopped.
            """
    )

    @OptionGroup var options: GlobalOptions
    @OptionGroup var flow: FlowOptions
    @OptionGroup var http: HTTPOptions

    @Option(help: "Also generate synthetic customer changes at this many rows per second (see `firn generate`).")
    var generate: Double?

    @Option(help: "With --generate: rows in each generated file.")
    var rowsPerFile = 1000

    @Option(help: "With --generate: the generator's seed.")
    var seed: UInt64 = 1

    @Option(help: "With --generate: share of rows that are late updates, 0 to 0.7.")
    var lateFraction = 0.0

    @Option(help: "With --generate: from this file number on, files carry a new column, loyalty_tier.")
    var evolveAtFile: Int?

    @Option(help: "With --generate: share of updates written as partial images, 0 to 1 (for null_updates: ignore).")
    var partialImages = 0.0

    func validate() throws {
        if let generate { try NumericBounds.generatorRate.check(generate, "--generate") }
        try NumericBounds.rowsPerFile.check(rowsPerFile, "--rows-per-file")
        try NumericBounds.lateFraction.check(lateFraction, "--late-fraction")
        if let evolveAtFile { try NumericBounds.evolveAtFile.check(evolveAtFile, "--evolve-at-file") }
        try NumericBounds.partialShare.check(partialImages, "--partial-images")
    }

    func run() async throws {
        let logger = flow.bootstrapLogging()
        let (pipeline, store, settings) = try await flow.assemble(options, ingest: true, pipe: true, logger: logger)
        var extra: [any Service] = []
        if let generate {
            extra.append(GeneratorService(writer: try generator(rate: generate, settings: settings), flow: pipeline))
            printNow("firn run: generating \(Generate.number(generate)) rows/s in files of \(rowsPerFile) rows")
        }
        printNow(
            "firn run: landing \(settings.resolvedLandingDirectory) → bucket \(store.location) → warehouse \(settings.resolvedWarehouse)"
        )
        let watchers = try http.watcher(
            for: "run",
            sources: DashboardSources(warehouse: pipeline.warehouse!, flow: pipeline, journal: pipeline.journal),
            logger: logger
        )
        try await pipeline.run(extraServices: extra, watchers: watchers) { line in printNow(line) }
    }

    /// The generator for --generate: continues a saved state with the same settings, else
    /// starts fresh at file 0 with event times from now.
    func generator(rate: Double, settings: FirnSettings) throws -> GeneratedFileWriter {
        let landing = try Generate.landing(settings, command: "--generate")
        try FileManager.default.createDirectory(atPath: landing, withIntermediateDirectories: true)
        let statePath = GeneratedFileWriter.Configuration.defaultStateFile(in: landing)
        var wanted = GeneratorConfiguration(seed: seed, startTime: .now())
        wanted.rate = rate
        wanted.rowsPerFile = rowsPerFile
        wanted.lateFraction = lateFraction
        wanted.evolveAtFile = evolveAtFile
        wanted.partialShare = partialImages
        do { try wanted.validate() } catch { throw ValidationError(error.description) }
        var writing = GeneratedFileWriter.Configuration(directory: landing)
        writing.stateFile = statePath
        if let saved = try GeneratorState.load(from: statePath) {
            var resumed = saved.configuration
            resumed.startTime = wanted.startTime
            if resumed == wanted {
                wanted = saved.configuration
            } else {
                printNow("firn run: generator settings changed; starting the generator afresh at file 0")
                writing.startsFresh = true
            }
        }
        return GeneratedFileWriter(generator: wanted, configuration: writing)
    }
}

/// `firn ingest`: the landing-directory watcher alone.
struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch the landing directory and upload complete files to the bucket (no loading).",
        discussion: """
            Files are uploaded under date-partitioned keys, then archived (or deleted with \
            --delete-after-upload). Files that keep failing go to <data-dir>/failed with a .error.txt. \
            State is kept in <data-dir>/ingest.sqlite; see `firn provenance`.
            """
    )

    @OptionGroup var options: GlobalOptions
    @OptionGroup var flow: FlowOptions

    func validate() throws {
        if flow.sqsQueue != nil { throw ValidationError("--sqs-queue is for firn run and firn pipe, which load") }
    }

    func run() async throws {
        let logger = flow.bootstrapLogging()
        let (pipeline, store, settings) = try await flow.assemble(options, ingest: true, pipe: false, logger: logger)
        printNow("firn ingest: landing \(settings.resolvedLandingDirectory) → bucket \(store.location)")
        try await pipeline.run { line in printNow(line) }
    }
}

/// `firn pipe`: the auto-ingest pipe alone.
struct PipeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipe",
        abstract: "Load new bucket objects exactly once into staging, SCD1 and SCD2 (no ingest).",
        discussion: """
            The whole bucket is listed at start and every --full-listing-interval seconds (default \
            300), and every second besides (the last two days' date folders with the default key \
            template); with --sqs-queue, S3 event notifications are read too. Each object is loaded \
            once per key and ETag, its content once per key and checksum. See `firn copy-history`.
            """
    )

    @OptionGroup var options: GlobalOptions
    @OptionGroup var flow: FlowOptions
    @OptionGroup var http: HTTPOptions

    func run() async throws {
        let logger = flow.bootstrapLogging()
        let (pipeline, store, settings) = try await flow.assemble(options, ingest: false, pipe: true, logger: logger)
        printNow("firn pipe: bucket \(store.location) → warehouse \(settings.resolvedWarehouse)")
        let watchers = try http.watcher(
            for: "pipe",
            sources: DashboardSources(warehouse: pipeline.warehouse!, flow: pipeline),
            logger: logger
        )
        try await pipeline.run(watchers: watchers) { line in printNow(line) }
    }
}

extension FlowOptions {
    /// Opens what the chosen stages need and assembles the flow: the warehouse and tasks when the
    /// pipe runs, the journal when ingest runs, the bucket always (created first with
    /// `--create-bucket`).
    func assemble(
        _ options: GlobalOptions,
        ingest: Bool,
        pipe: Bool,
        logger: Logger
    ) async throws -> (Flow, any ObjectStore, FirnSettings) {
        var settings = try options.settings()
        let routed = settings.isRouted
        if settings.allEntities.count > 1, let entity = options.entity {
            throw CommandError(
                "--entity \(entity): firn run, ingest and pipe carry every entity of the config, each file to the one "
                    + "its route names (\(settings.routeList)); --entity is for the commands about one entity"
            )
        }
        if ingest { try settings.checkLandingDirectory() }
        var warehouses: [any Warehouse] = []
        if pipe {
            if routed {
                for entity in settings.allEntities {
                    if let first = warehouses.first {
                        warehouses.append(try await options.openWarehouse(for: entity, beside: first, settings))
                    } else {
                        warehouses.append(try await options.openWarehouse(for: entity, settings))
                    }
                }
            } else {
                let (warehouse, opened) = try await options.openWarehouse()
                warehouses = [warehouse]
                settings = opened
            }
        }
        let store = try options.openStore(settings)
        try await prepare(store)
        var configuration = FlowConfiguration(
            ingest: ingest ? try ingestConfiguration(settings) : nil,
            pipe: pipe ? try options.pipeConfiguration(settings, flow: self) : nil
        )
        configuration.statusInterval = interval
        if routed {
            let routing = settings
            for line in settings.shadowedRoutes { logger.warning("\(line)") }
            for route in settings.routesWithoutLandingFolder {
                logger.warning(
                    "route \(route): its folders hold a wildcard, so ingest watches no landing folder for it; only objects put into the bucket otherwise can match it"
                )
            }
            configuration.routing = EntityRouting(
                route: { key in routing.entityIndex(routing: key) },
                folders: settings.routedFolders,
                description: settings.routeList
            )
        }
        if pipe {
            configuration.tasks = settings.tasks
            configuration.scheduler.archiveDirectory = (settings.dataDirectory as NSString).appendingPathComponent(
                "archive"
            )
        }
        let flow = try Flow(
            configuration: configuration,
            store: store,
            warehouses: warehouses,
            journal: ingest ? try options.openJournal(settings) : nil,
            logger: logger
        )
        return (flow, store, settings)
    }
}

extension GlobalOptions {
    /// The pipe's settings: downloads under `<data-dir>/downloads`, the config's reader, and a
    /// listing window of two days' date folders when keys are date-partitioned (the whole
    /// bucket is listed at start and every `PipeConfiguration.fullListingInterval` besides).
    func pipeConfiguration(_ settings: FirnSettings, keyTemplate: String? = nil) -> PipeConfiguration {
        var configuration = PipeConfiguration(
            downloadDirectory: (settings.dataDirectory as NSString).appendingPathComponent("downloads")
        )
        configuration.reader = settings.reader
        // Ingest's default keys start with their UTC date folder: frequent polls list the last two
        // days' folders; full listings find every other object.
        let template = keyTemplate ?? (settings.ingest.keyTemplate ?? .datePartitioned).text
        if template.hasPrefix("{yyyy}/{MM}/{dd}/") {
            configuration.dateFolderWindow = .seconds(2 * 86_400)
        }
        return configuration
    }

    /// The pipe's settings for `firn run` and `firn pipe`: also the event queue `--sqs-queue` names.
    func pipeConfiguration(_ settings: FirnSettings, flow: FlowOptions) throws -> PipeConfiguration {
        var configuration = pipeConfiguration(settings, keyTemplate: flow.keyTemplate)
        configuration.eventQueue = try flow.eventQueue(settings)
        configuration.fullListingInterval = .milliseconds(Int64(flow.fullListingInterval * 1000))
        return configuration
    }
}
