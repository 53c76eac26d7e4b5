import ArgumentParser
import FirnBench
import FirnConfig
import FirnFlow
import FirnObjectStore
import FirnPostgresWarehouse
import Foundation
import Logging

/// `firn bench flow`: freshness and sustained rows per second of the whole flow.
struct FlowBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flow",
        abstract: "Run generator → landing → ingest → bucket → pipe → SCD2 at a rate; report freshness.",
        discussion: """
            Freshness is the time from a file's rename into the landing directory to the commit that \
            put its last row into SCD1 and SCD2; reported as p50/p95/p99/max over every file, with \
            sustained change rows per second and the generator's share of the process's CPU (what the \
            flow did not get). Runs on the directory bucket and, when moto_server is \
            installed (or --s3-endpoint is given), on S3 against it. Afterwards the tables are \
            checked against `firn load` of the same files. The seed design (Snowpipe plus \
            one-minute Snowflake Tasks) takes 60 to 120 s.
            """
    )

    @Option(help: "Generated change rows per second.")
    var rate: Double = 5000

    @Option(help: "Seconds of generation per run.")
    var seconds: Double = 30

    @Option(help: "Rows in each generated file.")
    var rowsPerFile = 1000

    @Option(help: "Share of late updates (0 to 0.7).")
    var lateFraction = 0.05

    @Option(help: "From this file number on, generated files carry a new column, loyalty_tier (schema evolution adds it).")
    var evolveAtFile: Int?

    @Option(help: "Share of updates written as partial images, 0 to 1 (the entity then says null_updates: ignore).")
    var partialImages = 0.0

    @Option(help: "Runs per bucket (medians are reported).")
    var runs = 1

    @Option(help: "Buckets to run: file, s3 or both.")
    var buckets = "both"

    @Option(help: "S3 endpoint (default: a moto_server started for the run). Uses AWS_* credentials when set.")
    var s3Endpoint: String?

    @Option(help: "Work directory (default: a temporary directory, removed afterwards).")
    var directory: String?

    @Option(
        help: ArgumentHelp(
            "Load into this PostgreSQL server instead of a SQLite file (postgres://…).",
            discussion: "The flow gets a fresh schema named after the URL's schema (firn_bench_flow), and the check another (firn_bench_flow_ref); both are dropped afterwards unless --directory is given."
        )
    )
    var warehouse: String?

    @Flag(help: "Skip the check against firn load.")
    var noVerify = false

    @Option(
        help: ArgumentHelp(
            "Whether a browser shows the dashboard during runs: none, chromium, or both (alternating, side by side).",
            discussion: "The dashboard serves in every run, as in firn run; chromium keeps the page open in headless Chromium (/usr/bin/chromium) and the run fails if it does not connect."
        )
    )
    var page = "none"

    @Flag(
        help: ArgumentHelp(
            "Step the rate up from --rate (by a quarter a step) until the flow no longer sustains it; report the highest it sustained.",
            discussion: "A rate is sustained when the flow loads at least 95% of it over the run (from the first file landing to the last commit) with freshness p99 at most --max-p99. One run of --seconds per step, on the first bucket of --buckets; a rate not sustained is run once more, and the search stops when it fails twice in a row; at most 20 runs."
        )
    )
    var findMax = false

    @Option(help: "With --find-max: the highest freshness p99, in seconds, that a sustained rate may have.")
    var maxP99: Double = 1

    func validate() throws {
        guard maxP99 > 0, maxP99.isFinite else { throw ValidationError("--max-p99 is a number of seconds above 0") }
        try NumericBounds.generatorRate.check(rate, "--rate")
        try NumericBounds.benchSeconds.check(seconds, "--seconds")
        try NumericBounds.rowsPerFile.check(rowsPerFile, "--rows-per-file")
        try NumericBounds.lateFraction.check(lateFraction, "--late-fraction")
        if let evolveAtFile { try NumericBounds.evolveAtFile.check(evolveAtFile, "--evolve-at-file") }
        try NumericBounds.partialShare.check(partialImages, "--partial-images")
        try NumericBounds.benchRuns.check(runs, "--runs")
        if let s3Endpoint {
            do { _ = try S3Location.endpoint(parsing: s3Endpoint) } catch {
                throw ValidationError("--s3-endpoint: \(error)")
            }
        }
        if let warehouse { _ = try Bench.postgresLocation(warehouse) }
        guard ["file", "s3", "both"].contains(buckets) else { throw ValidationError("--buckets is file, s3 or both") }
        guard ["none", "chromium", "both"].contains(page) else { throw ValidationError("--page is none, chromium or both") }
    }

    func run() async throws {
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: Self.temporaryRoot) } }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        var configuration = FlowBenchmarkConfiguration()
        configuration.rate = rate
        configuration.seconds = seconds
        configuration.rowsPerFile = rowsPerFile
        configuration.lateFraction = lateFraction
        configuration.evolveAtFile = evolveAtFile
        configuration.partialShare = partialImages
        configuration.verifies = !noVerify
        let target: FlowBenchmarkWarehouse = try warehouse.map { .postgres(try Bench.postgresLocation($0)) } ?? .sqlite
        var kinds: [FlowBenchmarkBucket] = []
        if buckets != "s3" { kinds.append(.directory) }
        var moto: MotoServer?
        if buckets != "file" {
            let environment = ProcessInfo.processInfo.environment
            let credentials =
                (try? S3Credentials.fromEnvironment(environment))
                ?? S3Credentials(accessKeyId: "firn-bench", secretAccessKey: "firn-bench")
            if let s3Endpoint {
                kinds.append(.s3(endpoint: try S3Location.endpoint(parsing: s3Endpoint), credentials: credentials))
            } else if let server = try? await MotoServer.launch() {
                moto = server
                kinds.append(.s3(endpoint: server.endpoint, credentials: credentials))
            } else {
                printError("firn bench flow: no moto_server found (pip install 'moto[server]'); skipping S3")
            }
        }
        printNow(
            "firn bench flow: \(Generate.number(rate)) rows/s for \(Generate.number(seconds)) s, \(rowsPerFile) rows per file, "
                + "late fraction \(lateFraction), \(runs) run(s) per bucket, warehouse \(target)"
                + (evolveAtFile.map { ", loyalty_tier from file \($0)" } ?? "")
                + (partialImages > 0 ? ", partial images \(Generate.number(partialImages))" : "")
        )
        if findMax, let kind = kinds.first {
            try await findMaximum(configuration, bucket: kind, warehouse: target)
            await moto?.stop()
            return
        }
        let pages: [FlowBenchmarkPage] =
            switch page {
            case "chromium": [.chromium]
            case "both": [.none, .chromium]
            default: [.none]
            }
        var table: [[String]] = []
        for kind in kinds {
            var results: [FlowBenchmarkPage: [FlowBenchmarkResult]] = [:]
            for index in 0..<runs {
                // With both, the two runs of each index follow each other: the same hour, alternating.
                for shown in pages {
                    var settings = configuration
                    settings.page = shown
                    let label = "\(kind) \(shown) run \(index + 1)"
                    let result = try await runOnce(
                        settings,
                        bucket: kind,
                        warehouse: target,
                        in: "run-\(kind)-\(shown.rawValue)-\(index)",
                        label: label
                    )
                    printNow("  \(label): " + Self.row(result).joined(separator: "  "))
                    printNow("  \(label): " + Self.applyLine(result))
                    results[shown, default: []].append(result)
                }
            }
            for shown in pages { table.append(Self.row(Self.median(results[shown] ?? []))) }
        }
        await moto?.stop()
        let header = [
            "bucket", "page", "files", "rows", "rows/s", "p50", "p95", "p99", "max", "generator CPU", "/metrics freshness",
            "tables = firn load",
        ]
        printNow("")
        printNow("medians of \(runs) run(s):")
        let widths = header.indices.map { column in ([header] + table).map { $0[column].count }.max() ?? 0 }
        for row in [header] + table {
            printNow(
                row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(
                    separator: "  "
                )
            )
        }
        printNow("seed design (Snowpipe + Snowflake Tasks on a 1-minute schedule): 60 to 120 s")
        if table.contains(where: { $0.last == "NO" || $0[10].hasSuffix("DISAGREES") }) { throw ExitCode.failure }
    }

    /// One run, in `--directory`/`name` (kept) or `name` in ``temporaryRoot`` (its databases
    /// removed at once, its files when the command ends), its progress lines prefixed with
    /// `label`.
    func runOnce(
        _ settings: FlowBenchmarkConfiguration,
        bucket: FlowBenchmarkBucket,
        warehouse: FlowBenchmarkWarehouse,
        in name: String,
        label: String
    ) async throws -> FlowBenchmarkResult {
        let work = ((directory ?? Self.temporaryRoot) as NSString).appendingPathComponent(name)
        return try await FlowBenchmark.run(
            settings,
            bucket: bucket,
            warehouse: warehouse,
            directory: work,
            keep: directory != nil,
            leavingFolders: true
        ) { line in printNow("  \(label): \(line)") }
    }

    /// Where runs work without `--directory`: one temporary directory for the whole command,
    /// removed when it ends, so that one run's thousands of removed files do not slow the
    /// next run's (see ``FlowBenchmark/run(_:bucket:warehouse:directory:keep:leavingFolders:progress:)``).
    static let temporaryRoot =
        FileManager.default.temporaryDirectory.appendingPathComponent("firn-bench-flow-\(UUID().uuidString)").path

    /// `--find-max`: runs at rising rates until one is not sustained twice in a row, then
    /// prints each run and the highest sustained rate.
    func findMaximum(
        _ configuration: FlowBenchmarkConfiguration,
        bucket: FlowBenchmarkBucket,
        warehouse: FlowBenchmarkWarehouse
    ) async throws {
        var steps: [(offered: Double, result: FlowBenchmarkResult, sustained: Bool)] = []
        var rate = configuration.rate
        while steps.count < 20, rate <= NumericBounds.generatorRate.range.upperBound {
            var settings = configuration
            settings.rate = rate.rounded()
            let label = "\(bucket) at \(Generate.number(settings.rate)) rows/s"
            let result = try await runOnce(settings, bucket: bucket, warehouse: warehouse, in: "step-\(steps.count)", label: label)
            let sustained = result.rowsPerSecond >= 0.95 * settings.rate && result.freshness.p99 <= maxP99
            printNow("  \(label): " + Self.row(result).joined(separator: "  ") + (sustained ? "  sustained" : "  NOT sustained"))
            printNow("  \(label): " + Self.applyLine(result))
            steps.append((settings.rate, result, sustained))
            if result.tablesMatchFirnLoad == false { break }
            // One stall (a checkpoint, another process) must not end the search: a rate not
            // sustained is tried once more, and the search stops only when it fails again.
            let failedBefore = steps.count >= 2 && steps[steps.count - 2].offered == settings.rate
            if !sustained && failedBefore { break }
            if sustained { rate *= 1.25 }
        }
        printNow("")
        printNow("offered rows/s  loaded rows/s  p50  p99  generator CPU  sustained")
        for step in steps {
            printNow(
                [
                    String(format: "%.0f", step.offered), String(format: "%.0f", step.result.rowsPerSecond),
                    FreshnessSummary.format(step.result.freshness.p50), FreshnessSummary.format(step.result.freshness.p99),
                    String(format: "%.0f%%", step.result.generatorShare * 100), step.sustained ? "yes" : "no",
                ].joined(separator: "  ")
            )
        }
        if let best = steps.filter(\.sustained).max(by: { $0.offered < $1.offered }) {
            printNow(
                "highest sustained: \(Generate.number(best.offered)) rows/s (loaded \(String(format: "%.0f", best.result.rowsPerSecond)), "
                    + "p99 \(FreshnessSummary.format(best.result.freshness.p99))), \(rowsPerFile) rows per file, \(bucket) bucket, \(warehouse)"
            )
        } else {
            printNow("highest sustained: none; even \(Generate.number(configuration.rate)) rows/s was not sustained (try a lower --rate)")
        }
        if steps.contains(where: { $0.result.tablesMatchFirnLoad == false }) { throw ExitCode.failure }
    }

    static func row(_ result: FlowBenchmarkResult) -> [String] {
        let fresh = result.freshness
        return [
            result.bucket, result.page.description, "\(result.files)", "\(result.rows)",
            String(format: "%.0f", result.rowsPerSecond), FreshnessSummary.format(fresh.p50),
            FreshnessSummary.format(fresh.p95), FreshnessSummary.format(fresh.p99), FreshnessSummary.format(fresh.max),
            String(format: "%.0f%%", result.generatorShare * 100), result.metricsFreshness + (result.metricsAgree ? " (agrees)" : " DISAGREES"),
            result.tablesMatchFirnLoad.map { $0 ? "yes" : "NO" } ?? "not checked",
        ]
    }

    /// Where the run's apply time went (`firn_apply_seconds_total` over the run).
    static func applyLine(_ result: FlowBenchmarkResult) -> String {
        result.applyTime.line(runSeconds: result.seconds, parts: result.applyTimeByThird)
    }

    /// Per-figure medians across runs (each column's median independently).
    static func median(_ results: [FlowBenchmarkResult]) -> FlowBenchmarkResult {
        func mid(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        var result = results[results.count / 2]
        result.seconds = mid(results.map(\.seconds))
        result.freshness.p50 = mid(results.map(\.freshness.p50))
        result.freshness.p95 = mid(results.map(\.freshness.p95))
        result.freshness.p99 = mid(results.map(\.freshness.p99))
        result.freshness.max = mid(results.map(\.freshness.max))
        result.tablesMatchFirnLoad =
            results.allSatisfy { $0.tablesMatchFirnLoad == nil }
            ? nil : results.allSatisfy { $0.tablesMatchFirnLoad != false }
        result.metricsAgree = results.allSatisfy(\.metricsAgree)
        result.generatorCPUSeconds = mid(results.map(\.generatorCPUSeconds))
        result.processCPUSeconds = mid(results.map(\.processCPUSeconds))
        return result
    }
}
