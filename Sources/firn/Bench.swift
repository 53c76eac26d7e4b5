import ArgumentParser
import FirnBench
import FirnConfig
import FirnPostgresWarehouse
import FirnWarehouse
import Foundation

/// `firn bench`: benchmarks that print figures (never assertions).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks with reports: figures measured on this machine, side by side.",
        subcommands: [LoadBench.self, FlowBench.self]
    )

    /// The server of a bench's `--warehouse` (a PostgreSQL URL; SQLite is the default there).
    static func postgresLocation(_ text: String) throws -> PostgresLocation {
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            throw ValidationError("--warehouse takes a postgres:// URL here (SQLite runs by default, in --directory)")
        }
        do {
            return try PostgresLocation(parsing: text)
        } catch {
            throw ValidationError("--warehouse: \(error)")
        }
    }
}

/// `firn bench load`: change rows per second to SCD2, Firn next to the plain-SQL port.
struct LoadBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Change rows per second taken all the way to SCD2, next to plain set-based SQL on SQLite.",
        discussion: """
            Generates a deterministic workload in process: N base customers (not timed), then K \
            batches of B change rows (about 70% updates of 1-3 fields, 25% new customers, 5% deletes, \
            2% keys repeated in a batch). Each batch is one load, fully durable (fsync per commit). \
            The same batches are applied by the plain-SQL port of the seed's logic in a separate file, \
            and both final tables are checked against each other and the generator's expectation.
            """
    )

    @Option(help: "Base customers.")
    var n = 100_000

    @Option(name: .customLong("batch-sizes"), parsing: .upToNextOption, help: "Batch sizes B.")
    var batchSizes: [Int] = [1_000, 10_000, 100_000]

    @Option(help: "Change rows per batch size (K = rows / B).")
    var rows = 300_000

    @Option(help: "Workload seed.")
    var seed: UInt64 = 42

    @Option(help: "Directory for the benchmark databases (default: a temporary one).")
    var directory: String?

    @Option(
        help: ArgumentHelp(
            "Run both engines on this PostgreSQL server instead of SQLite files (postgres://…).",
            discussion: "Each batch size gets fresh schemas named after the URL's schema (firn_bench_b1000, firn_bench_sql_b1000), dropped afterwards unless --keep. Each engine's tables are analyzed after its base load, as autovacuum would have in a running pipeline."
        )
    )
    var warehouse: String?

    @Option(
        help: ArgumentHelp(
            "With --warehouse: also share the batches among 1, 2, 4 … up to K workers at once.",
            discussion: "Each worker has its own connection pool and remembered key states, as separate processes would; rows per second are over wall time."
        )
    )
    var workers: Int?

    @Flag(help: "Keep the benchmark databases (in --directory) for inspection.")
    var keep = false

    @Flag(help: "Skip the plain-SQL baseline.")
    var noBaseline = false

    @Flag(
        help: ArgumentHelp(
            "Run Firn's and the baseline's batches in turn, not all of one engine's then the other's.",
            discussion: "Both then meet the same conditions on a host whose speed drifts, so the speed-up is steadier; peak RSS then covers both engines."
        )
    )
    var interleave = false

    @Option(help: "Firn's SQLite page size for the benchmark databases.")
    var pageSize: Int?

    @Option(help: "Firn's wal_autocheckpoint, in pages.")
    var checkpointPages: Int?

    @Option(help: "Keys whose state Firn's writer remembers between batches (0: off).")
    var keyStateCapacity: Int?

    @Flag(help: "Checkpoint on the writer (SQLite's default) instead of a background thread.")
    var checkpointOnWriter = false

    @Flag(help: "Write the WAL a frame at a time (SQLite's default VFS) instead of through Firn's coalescing VFS.")
    var uncoalescedLog = false

    @Flag(help: "Commit without fsync (synchronous=NORMAL) in both engines, to show what durability costs.")
    var noFsync = false

    @Option(help: "Measure over CSV files in DIR instead (the first by name is the base), reader included.")
    var files: String?

    @Option(help: "Write the workload (base, then K batch files of the first batch size) to DIR as CSV and stop.")
    var writeFiles: String?

    @Option(help: "Also write the report as JSON to this file.")
    var json: String?

    func validate() throws {
        try NumericBounds.benchBaseRows.check(n, "--n")
        try NumericBounds.benchChangeRows.check(rows, "--rows")
        guard !batchSizes.isEmpty else { throw ValidationError("--batch-sizes needs at least one size") }
        for size in batchSizes { try NumericBounds.benchBatchSize.check(size, "--batch-sizes") }
        if let pageSize { try NumericBounds.checkPageSize(pageSize, "--page-size") }
        if let checkpointPages { try NumericBounds.checkpointPages.check(checkpointPages, "--checkpoint-pages") }
        if let keyStateCapacity {
            try NumericBounds.keyStateCapacity.check(keyStateCapacity, "--key-state-capacity")
        }
        if interleave {
            if noBaseline { throw ValidationError("--interleave needs the baseline: drop --no-baseline") }
            if files != nil { throw ValidationError("--interleave applies to generated batches, not to --files") }
        }
        if let workers {
            guard warehouse != nil else {
                throw ValidationError("--workers needs --warehouse postgres://…: SQLite has one writer")
            }
            try NumericBounds.benchWorkers.check(workers, "--workers")
        }
        if warehouse != nil {
            let sqliteOnly: [(Bool, String)] = [
                (pageSize != nil, "--page-size"), (checkpointPages != nil, "--checkpoint-pages"),
                (checkpointOnWriter, "--checkpoint-on-writer"), (uncoalescedLog, "--uncoalesced-log"),
                (noFsync, "--no-fsync (PostgreSQL's durability is the server's fsync and synchronous_commit)"),
                (files != nil, "--files"), (writeFiles != nil, "--write-files"), (directory != nil, "--directory"),
            ]
            if let used = sqliteOnly.first(where: \.0) {
                throw ValidationError("\(used.1) applies to SQLite only, not with --warehouse")
            }
        }
    }

    func run() async throws {
        var benchmark = LoadBenchmark()
        benchmark.n = n
        benchmark.batchSizes = batchSizes
        benchmark.changeRowsPerSize = rows
        benchmark.seed = seed
        benchmark.directory = directory
        benchmark.includeBaseline = !noBaseline
        benchmark.interleaves = interleave
        benchmark.keepsDatabases = keep
        if let pageSize { benchmark.warehouse.pageSize = pageSize }
        if let checkpointPages { benchmark.warehouse.checkpointPages = checkpointPages }
        if checkpointOnWriter { benchmark.warehouse.checkpointsInBackground = false }
        if noFsync { benchmark.isDurable = false }
        if uncoalescedLog { benchmark.warehouse.coalescesLogWrites = false }
        if let keyStateCapacity { benchmark.warehouse.keyStateCapacity = keyStateCapacity }
        if let workers {
            benchmark.workerCounts = Array(sequence(first: 1) { $0 * 2 }.prefix { $0 < workers }) + [workers]
        }
        if let writeFiles {
            let size = batchSizes[0]
            let written = try WorkloadFiles.write(
                to: URL(fileURLWithPath: writeFiles),
                seed: seed,
                n: n,
                batches: benchmark.batchCount(forSize: size),
                size: size
            )
            print("wrote \(written.count) files to \(writeFiles): the base (\(n) rows), then batches of \(size) rows")
            return
        }
        let report =
            if let warehouse {
                try await benchmark.run(on: try Bench.postgresLocation(warehouse)) { printError($0) }
            } else if let files {
                try await benchmark.runFiles(in: files) { printError($0) }
            } else {
                try await benchmark.run { printError($0) }
            }
        print(report.description)
        if let json {
            try report.json().write(toFile: json, atomically: true, encoding: .utf8)
        }
        if !report.allChecksPass {
            printError("error: the engines' tables disagree; see the SCD1 check column")
            throw ExitCode.failure
        }
    }

}
