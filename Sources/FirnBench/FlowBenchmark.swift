import FirnCore
import FirnFlow
import FirnGenerate
import FirnHTTP
import FirnIngest
import FirnObjectStore
import FirnPipe
import FirnPostgresWarehouse
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import Logging
import NIOConcurrencyHelpers

/// What `firn bench flow` runs.
public struct FlowBenchmarkConfiguration: Sendable, Hashable {
    /// Generated change rows per second. Defaults to `5000`.
    public var rate: Double = 5000
    /// How long the generator runs, in seconds. Defaults to `30`.
    public var seconds: Double = 30
    /// Rows in each generated file. Defaults to `1000`.
    public var rowsPerFile = 1000
    /// The generator's seed. Defaults to `1`.
    public var seed: UInt64 = 1
    /// Share of late updates. Defaults to `0.05`.
    public var lateFraction = 0.05
    /// The file from which generated files carry a new column (``GeneratorConfiguration/evolveAtFile``),
    /// which schema evolution adds while the flow runs. Defaults to `nil` (never).
    public var evolveAtFile: Int?
    /// The share of updates written as partial images (``GeneratorConfiguration/partialShare``);
    /// above 0 the entity keeps history under `null_updates: ignore`. Defaults to `0`.
    public var partialShare: Double = 0
    /// Whether to check afterwards that SCD1 and SCD2 equal `firn load` of the same files in
    /// name order. Defaults to `true`.
    public var verifies = true
    /// Whether a browser shows the dashboard during the run. The dashboard serves (on a free
    /// loopback port) either way, as it does in `firn run`. Defaults to ``FlowBenchmarkPage/none``.
    public var page: FlowBenchmarkPage = .none

    /// Creates the defaults.
    public init() {}

    /// The entity the flow keeps: the customer, under `null_updates: ignore` when updates come
    /// as partial images.
    public var entity: EntityConfiguration {
        var entity = EntityConfiguration.customer
        if partialShare > 0 { entity.nullUpdates = .ignore }
        return entity
    }
}

/// The bucket a flow benchmark goes through.
public enum FlowBenchmarkBucket: Sendable, Hashable, CustomStringConvertible {
    /// A directory bucket (the embedded default).
    case directory
    /// An S3 bucket on this endpoint (a new bucket is created), signed with these credentials.
    case s3(endpoint: URL, credentials: S3Credentials)

    public var description: String {
        switch self {
        case .directory: "file"
        case .s3(let endpoint, _): "s3 \(endpoint.host ?? "")"
        }
    }
}

/// The warehouse a flow benchmark loads into.
public enum FlowBenchmarkWarehouse: Sendable, CustomStringConvertible {
    /// A SQLite file in the work directory (the embedded default).
    case sqlite
    /// Fresh schemas on this server, named after its schema (`firn_bench_flow`, and
    /// `firn_bench_flow_ref` for the check), dropped afterwards unless kept.
    case postgres(PostgresLocation)

    public var description: String {
        switch self {
        case .sqlite: "SQLite"
        case .postgres(let server): "PostgreSQL at \(server.host):\(server.port)"
        }
    }
}

/// What one flow benchmark measured.
public struct FlowBenchmarkResult: Sendable {
    /// The bucket kind.
    public var bucket: String
    /// Files generated (and loaded).
    public var files: Int
    /// Change rows loaded.
    public var rows: Int64
    /// From the first rename to the last commit, in seconds.
    public var seconds: Double
    /// Landing-to-commit times.
    public var freshness: FreshnessSummary
    /// Whether the tables equal `firn load` of the same files (nil when not checked).
    public var tablesMatchFirnLoad: Bool?
    /// Whether a page was open (``FlowBenchmarkPage``).
    public var page: FlowBenchmarkPage = .none
    /// The run's freshness histogram on `/metrics`, as its p50 and p99 buckets.
    public var metricsFreshness = ""
    /// Whether `/metrics`' p50 and p99 buckets are those of the measured freshness, or next to them.
    public var metricsAgree = false

    /// CPU seconds the generator used (rows, CSV text, writing, syncing and renaming files).
    public var generatorCPUSeconds: Double = 0
    /// CPU seconds the whole process used over the run (every thread; the check afterwards
    /// not counted).
    public var processCPUSeconds: Double = 0

    /// Where the warehouse's apply time went over the run.
    public var applyTime = ApplyTime()
    /// ``applyTime`` by thirds of the run: split where a third and two thirds of the
    /// generator's duration had passed since the first landing; the last part runs to the last
    /// commit. Fewer parts when files landed too rarely to mark a third.
    public var applyTimeByThird: [ApplyTime] = []

    /// Sustained change rows per second, landing to SCD2.
    public var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }

    /// The generator's share of the process's CPU over the run (0 to 1): what the flow itself
    /// did not get of the machine. (A PostgreSQL server's CPU is not the process's.)
    public var generatorShare: Double { processCPUSeconds > 0 ? generatorCPUSeconds / processCPUSeconds : 0 }
}

/// `firn bench flow`: the whole flow in process (generator → landing → ingest → bucket → pipe →
/// SCD1 and SCD2) at a steady rate, measuring freshness from each file's rename into the
/// landing directory to the commit of its load.
public enum FlowBenchmark {
    /// Removes the regular files directly in `directory` (not its folders).
    static func removeFiles(in directory: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = (directory as NSString).appendingPathComponent(name)
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// Runs the flow for ``FlowBenchmarkConfiguration/seconds`` of generation, waits for every
    /// file to load, and measures.
    ///
    /// - Parameters:
    ///   - configuration: Rate, duration and generator settings.
    ///   - bucket: Directory or S3.
    ///   - directory: A directory to work in (created; removed afterwards unless `keep`).
    ///   - keep: Keeps the directory, and a PostgreSQL run's schemas, afterwards.
    ///   - leavingFolders: Without `keep`, removes only the directory's own files (the
    ///     databases) and leaves its folders of small files (landing, bucket, archive) for the
    ///     caller to remove once every run is done: removing thousands of files slows the
    ///     creation of new ones nearby for a minute or more on a file system without a journal,
    ///     which would slow the next run's generator.
    ///   - progress: Status lines while it runs.
    public static func run(
        _ configuration: FlowBenchmarkConfiguration,
        bucket: FlowBenchmarkBucket,
        warehouse kind: FlowBenchmarkWarehouse = .sqlite,
        directory: String,
        keep: Bool = false,
        leavingFolders: Bool = false,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> FlowBenchmarkResult {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            if !keep {
                if leavingFolders {
                    Self.removeFiles(in: directory)
                } else {
                    try? FileManager.default.removeItem(atPath: directory)
                }
            }
        }
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        let store: any ObjectStore
        switch bucket {
        case .directory:
            store = try DirectoryBucket(root: path("bucket"))
        case .s3(let endpoint, let credentials):
            let name = "firn-bench-" + UUID().uuidString.prefix(8).lowercased()
            let s3 = S3Bucket(
                location: S3Location(bucket: name, prefix: "changes", endpoint: endpoint, addressing: .path),
                credentials: credentials
            )
            try await s3.createBucket()
            store = s3
        }
        let opened = try await open(kind, name: "flow", path: path("firn.sqlite"), entity: configuration.entity)
        let warehouse = opened.warehouse
        var result: FlowBenchmarkResult
        do {
            let logger = Logger(label: "firn.bench")
            var ingest = IngestConfiguration(landingDirectory: path("landing"), dataDirectory: directory)
            ingest.afterUpload = .archive
            var flowConfiguration = FlowConfiguration(
                ingest: ingest,
                pipe: PipeConfiguration(downloadDirectory: path("downloads"))
            )
            flowConfiguration.statusInterval = .seconds(5)
            let lastCommit = NIOLockedValueBox<Int64>(0)
            let flow = try Flow(
                configuration: flowConfiguration,
                store: store,
                warehouse: warehouse,
                journal: try IngestJournal(path: path("ingest.sqlite")),
                logger: logger
            ) { load, _ in
                lastCommit.withLockedValue { $0 = max($0, load.committedAtNanoseconds) }
            }
            var generator = GeneratorConfiguration(seed: configuration.seed, startTime: .now())
            generator.rate = configuration.rate
            generator.rowsPerFile = configuration.rowsPerFile
            generator.lateFraction = configuration.lateFraction
            generator.evolveAtFile = configuration.evolveAtFile
            generator.partialShare = configuration.partialShare
            try generator.validate()
            var writing = GeneratedFileWriter.Configuration(directory: path("landing"))
            writing.duration = .milliseconds(Int64(configuration.seconds * 1000))
            writing.startsFresh = true
            let writer = GeneratedFileWriter(generator: generator, configuration: writing)
            let files = NIOLockedValueBox<(count: Int, first: Int64)>((0, 0))

            var dashboardConfiguration = DashboardConfiguration()
            dashboardConfiguration.port = 0
            let dashboard = DashboardServer(
                configuration: dashboardConfiguration,
                sources: DashboardSources(warehouse: warehouse, flow: flow, journal: flow.journal),
                requirement: .required,
                logger: logger
            )
            let histogramBefore = FreshnessHistogram.now()
            let applyReadings = NIOLockedValueBox<[ApplyTime]>([ApplyTime.now()])
            let cpuBefore = ThreadCPUTime.processSeconds()
            let generatorCPU = NIOLockedValueBox<Double>(0)
            let page = NIOLockedValueBox<OpenPage?>(nil)
            do {
                try await run(flow: flow, dashboard: dashboard, page: page)
            } catch {
                await page.withLockedValue { $0 }?.close()
                throw error
            }
            await page.withLockedValue { $0 }?.close()

            func run(flow: Flow, dashboard: DashboardServer, page: NIOLockedValueBox<OpenPage?>) async throws {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await flow.run(watchers: [dashboard]) { line in progress(line) } }
                    if configuration.page == .chromium {
                        // The page is open and connected before the first file is written.
                        let deadline = ContinuousClock.now + .seconds(30)
                        while dashboard.port == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                        let url = "http://127.0.0.1:\(dashboard.port ?? 0)/"
                        let opened = try OpenPage(url: url, profile: path("chromium"))
                        page.withLockedValue { $0 = opened }
                        while dashboard.openEventStreams == 0 && ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(50))
                        }
                        if dashboard.openEventStreams == 0 { throw FlowBenchmarkError.pageDidNotConnect(url) }
                    }
                    group.addTask {
                        // The generator runs outside the flow's group so its end (not a signal) ends the run.
                        try FileManager.default.createDirectory(atPath: path("landing"), withIntermediateDirectories: true)
                        let summary = try await writer.run { file in
                            flow.freshness.landed(name: file.name, atNanoseconds: file.renamedAtNanoseconds)
                            let first = files.withLockedValue { state in
                                if state.count == 0 { state.first = file.renamedAtNanoseconds }
                                state.count += 1
                                return state.first
                            }
                            // Readings once a third and two thirds of the run have passed since
                            // the first landing.
                            let elapsed = Double(file.renamedAtNanoseconds - first) / 1e9
                            applyReadings.withLockedValue { readings in
                                if readings.count < 3, elapsed >= configuration.seconds * Double(readings.count) / 3 {
                                    readings.append(ApplyTime.now())
                                }
                            }
                        }
                        generatorCPU.withLockedValue { $0 = summary.cpuSeconds }
                        let written = files.withLockedValue { $0.count }
                        if configuration.page == .chromium && dashboard.openEventStreams == 0 {
                            throw FlowBenchmarkError.pageDidNotConnect("the dashboard (the page closed during the run)")
                        }
                        let deadline = ContinuousClock.now + .seconds(120)
                        while (flow.pipe?.statistics.objectsLoaded ?? 0) < written && ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        await flow.shutDownGracefully()
                    }
                    try await group.waitForAll()
                }
            }
            let written = files.withLockedValue { $0 }
            result = FlowBenchmarkResult(
                bucket: bucket.description,
                files: written.count,
                rows: flow.pipe?.statistics.rowsLoaded ?? 0,
                seconds: Double(lastCommit.withLockedValue { $0 } - written.first) / 1e9,
                freshness: flow.freshness.summary(),
                tablesMatchFirnLoad: nil
            )
            result.processCPUSeconds = ThreadCPUTime.processSeconds() - cpuBefore
            result.generatorCPUSeconds = generatorCPU.withLockedValue { $0 }
            let histogram = FreshnessHistogram.now().since(histogramBefore)
            result.page = configuration.page
            result.metricsFreshness = histogram.summary
            result.metricsAgree = histogram.agrees(with: result.freshness)
            let readings = applyReadings.withLockedValue { $0 } + [ApplyTime.now()]
            result.applyTime = readings[readings.count - 1].since(readings[0])
            result.applyTimeByThird = zip(readings.dropFirst(), readings).map { $0.since($1) }
        } catch {
            await opened.close(keep)
            throw error
        }
        if configuration.verifies {
            do {
                let reference = try await open(kind, name: "flow_ref", path: path("ref.sqlite"), entity: configuration.entity)
                do {
                    result.tablesMatchFirnLoad = try await verify(
                        flow: warehouse,
                        archive: path("archive"),
                        reference: reference.warehouse
                    )
                } catch {
                    await reference.close(keep)
                    throw error
                }
                await reference.close(keep)
            } catch {
                await opened.close(keep)
                throw error
            }
        }
        await opened.close(keep)
        return result
    }

    /// A fresh warehouse: a SQLite file at `path`, or the schema `<schema>_bench_<name>` on
    /// the server (dropped first if a run left it).
    private static func open(
        _ kind: FlowBenchmarkWarehouse,
        name: String,
        path: String,
        entity: EntityConfiguration
    ) async throws -> (warehouse: any Warehouse, close: @Sendable (_ keep: Bool) async -> Void) {
        switch kind {
        case .sqlite:
            let warehouse = try await SQLiteWarehouse.open(path: path, entity: entity)
            return (warehouse, { _ in })
        case .postgres(let server):
            let storage = PostgresBenchStorage(server: server, keepsDatabases: false)
            let schema = "\(server.schema)_bench_\(name)"
            try await storage.recreate(schema, creating: false)
            let warehouse = try await PostgresWarehouse.open(server.inSchema(schema), entity: entity)
            return (
                warehouse,
                { keep in
                    await warehouse.close()
                    if !keep { try? await storage.drop(schema) }
                }
            )
        }
    }

    /// Loads the archived files in name order into `warehouse`, fresh, with `firn load`'s
    /// loader and compares SCD1 and SCD2.
    static func verify(flow: any Warehouse, archive: String, reference warehouse: any Warehouse) async throws -> Bool {
        let files = (FileManager.default.subpaths(atPath: archive) ?? []).filter { $0.hasSuffix(".csv") }
            .sorted { ($0 as NSString).lastPathComponent < ($1 as NSString).lastPathComponent }
        let loader = FileLoader(warehouse: warehouse)
        for file in files { _ = try await loader.load((archive as NSString).appendingPathComponent(file)) }
        let queries = [
            "SELECT * FROM customer ORDER BY customer_id",
            "SELECT * FROM customer_history ORDER BY customer_id, start_time",
        ]
        for sql in queries where try await flow.query(sql).result != warehouse.query(sql).result {
            return false
        }
        return true
    }
}
