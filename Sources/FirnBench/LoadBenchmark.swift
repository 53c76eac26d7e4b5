import FirnCore
import FirnGenerate
import FirnPostgresWarehouse
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import GRDB

/// `firn bench load`: change rows per second taken all the way to SCD2, batch latency and peak
/// memory, for Firn and for the plain-SQL port of the seed's logic (``PlainSQLBaseline``).
///
/// For each batch size B, in a fresh database file per engine: N base customers are loaded as
/// one load (timed apart, not in the throughput), then K batches of B change rows from a
/// ``BenchWorkload`` are applied, each as one load (`beginLoad`, then one `applyChunk` with all
/// B records that also finishes the load) for Firn and one transaction for the baseline, timing
/// each batch. Between the base and the batches, each engine's tables get the planner
/// statistics a running pipeline has (``BenchStorage/analyze(_:size:)``).
/// Workload generation is outside the timed span. Afterwards both engines' SCD1 tables are
/// compared with each other and with the generator's expectation (row count and digest).
///
/// Defaults: N = 100,000; B = 1,000, 10,000 and 100,000; K = 300,000 / B (300, 30 and 3
/// batches), so every size applies 300,000 change rows. That is enough for stable medians at
/// small B and keeps the whole default run (both engines, full durability) within a few
/// minutes on two cores; raise ``changeRowsPerSize`` for steadier large-B figures.
public struct LoadBenchmark: Sendable {
    /// Base customers loaded before the batches. Defaults to `100_000`.
    public var n: Int = 100_000
    /// Batch sizes (change rows per batch), run in this order. Defaults to `[1_000, 10_000, 100_000]`.
    public var batchSizes: [Int] = [1_000, 10_000, 100_000]
    /// Change rows per batch size when ``batchCounts`` has no entry for it: K = max(1, this / B).
    /// Defaults to `300_000`.
    public var changeRowsPerSize: Int = 300_000
    /// Explicit batch counts K per batch size, overriding ``changeRowsPerSize``. Defaults to empty.
    public var batchCounts: [Int: Int] = [:]
    /// The workload seed. Defaults to `42`.
    public var seed: UInt64 = 42
    /// Directory for the database files; `nil` makes a fresh one under the system temporary
    /// directory. Defaults to `nil`.
    public var directory: String?
    /// Whether the plain-SQL baseline runs too. Defaults to `true`.
    public var includeBaseline: Bool = true
    /// Whether both engines fsync each commit (`synchronous=FULL`, Firn's default). Defaults to `true`.
    public var isDurable: Bool = true
    /// Whether the database files stay after the run (else each size's are removed once
    /// measured). Defaults to `false`.
    public var keepsDatabases: Bool = false
    /// On PostgreSQL: after the single-worker run, the same batches again shared by this many
    /// workers at once, one run per count (`[1, 2, 4]` for `--workers 4`). Ignored on SQLite,
    /// which has one writer. Defaults to empty.
    public var workerCounts: [Int] = []
    /// Whether Firn's and the baseline's batches run in turn (batch 1 of each, then batch 2 of
    /// each, who goes first alternating) instead of all of Firn's and then all of the
    /// baseline's: on a host whose speed drifts, both then meet the same conditions and the
    /// ratio between them is steadier. Peak memory is then the process's over both engines.
    /// Ignored without the baseline. Defaults to `false`.
    public var interleaves: Bool = false

    /// Firn's warehouse settings (page size, checkpointing); ``isDurable`` overrides its
    /// durability. Defaults to ``SQLiteConfiguration/init()``.
    public var warehouse = SQLiteConfiguration()

    /// Creates the default benchmark.
    public init() {}

    /// K for batch size `size`.
    public func batchCount(forSize size: Int) -> Int {
        batchCounts[size] ?? max(1, changeRowsPerSize / max(1, size))
    }

    /// Runs every batch size, Firn then (if enabled) the baseline, on SQLite files in
    /// ``directory``.
    ///
    /// - Parameter progress: Called with a line of text as phases start and end.
    /// - Returns: The figures; a disagreement between the engines is reported there, not thrown.
    /// - Throws: ``LoadBenchmarkError`` when an engine fails or a file cannot be written.
    public func run(progress: (String) -> Void = { _ in }) async throws(LoadBenchmarkError) -> LoadBenchmarkReport {
        var configuration = warehouse
        configuration.isDurable = isDurable
        let storage = SQLiteBenchStorage(
            directory: try prepareDirectory(),
            configuration: configuration,
            keepsDatabases: keepsDatabases
        )
        return try await run(on: storage, progress: progress)
    }

    /// Runs every batch size, Firn then (if enabled) the baseline, each in fresh schemas of
    /// `server`'s database (see ``PostgresBenchStorage``). Durability is the server's own.
    public func run(
        on server: PostgresLocation,
        progress: (String) -> Void = { _ in }
    ) async throws(LoadBenchmarkError) -> LoadBenchmarkReport {
        try await run(on: storage(on: server), progress: progress)
    }

    /// Where a run on `server` keeps its schemas; Firn's warehouses there remember
    /// `warehouse.keyStateCapacity` keys, as on SQLite.
    func storage(on server: PostgresLocation) -> PostgresBenchStorage {
        PostgresBenchStorage(
            server: server,
            keepsDatabases: keepsDatabases,
            keyStateCapacity: warehouse.keyStateCapacity
        )
    }

    func run(on storage: some BenchStorage, progress: (String) -> Void) async throws(LoadBenchmarkError)
        -> LoadBenchmarkReport
    {
        var sizes: [LoadBenchmarkReport.SizeResult] = []
        let interleaving = interleaves && includeBaseline
        for size in batchSizes {
            let batches = batchCount(forSize: size)
            let firn: LoadBenchmarkReport.EngineResult
            let expected: TableDigest
            var sql: LoadBenchmarkReport.EngineResult?
            if interleaving {
                progress("B=\(size): firn and plain SQL in turn, \(n) base customers then \(batches) batches")
                (firn, sql, expected) = try await measureInterleaved(
                    on: storage,
                    size: size,
                    batches: batches,
                    progress: progress
                )
            } else {
                progress("B=\(size): firn, \(n) base customers then \(batches) batches")
                (firn, expected) = try await measureFirn(on: storage, size: size, batches: batches, progress: progress)
                if includeBaseline {
                    progress("B=\(size): plain SQL baseline")
                    sql = try await measureBaseline(on: storage, size: size, batches: batches, progress: progress)
                }
            }
            var result = LoadBenchmarkReport.SizeResult(
                batchSize: size,
                batches: batches,
                firn: firn,
                sql: sql,
                expectedCurrent: expected
            )
            if !workerCounts.isEmpty, let server = storage as? PostgresBenchStorage {
                result.workers = try await measureWorkers(
                    on: server,
                    size: size,
                    batches: batches,
                    expected: expected,
                    history: firn.history,
                    progress: progress
                )
            }
            progress("B=\(size): done")
            sizes.append(result)
        }
        var report = LoadBenchmarkReport(
            n: n,
            seed: seed,
            isDurable: isDurable,
            engine: await storage.engineDescription(),
            sizes: sizes
        )
        report.isInterleaved = interleaving
        return report
    }

    // MARK: Engines

    private func measureFirn(
        on storage: some BenchStorage,
        size: Int,
        batches: Int,
        progress: (String) -> Void
    ) async throws(LoadBenchmarkError) -> (LoadBenchmarkReport.EngineResult, TableDigest) {
        ProcessProbe.resetPeak()
        var workload = BenchWorkload(seed: seed)
        var timing = Timing()
        var phases = ApplyCounts()
        var cpu = 0.0
        var written: Int64?
        let opened = try await storage.openFirn(size: size)
        let warehouse = opened.warehouse
        do throws(LoadBenchmarkError) {
            var base: [ChangeRecord]? = workload.base(n)
            let baseStart = ProcessProbe.nanoseconds()
            do throws(WarehouseError) {
                try await load(base.take()!, into: warehouse, name: "bench-B\(size)-base")
            } catch {
                throw .firn(error)
            }
            timing.base = Double(ProcessProbe.nanoseconds() - baseStart) / 1e9
            try await storage.analyze(.firn, size: size)
        } catch {
            await opened.close()
            throw error
        }
        do throws(WarehouseError) {
            await Self.settle(progress: progress)
            for batch in 1...batches {
                var records: [ChangeRecord]? = workload.nextBatch(size: size)
                let start = ProcessProbe.nanoseconds()
                let cpuStart = ThreadCPUTime.processSeconds()
                let writtenStart = ProcessProbe.writtenBytes()
                let counts = try await load(records.take()!, into: warehouse, name: "bench-B\(size)-\(batch)")
                timing.batches.append(Double(ProcessProbe.nanoseconds() - start) / 1e9)
                cpu += ThreadCPUTime.processSeconds() - cpuStart
                if let writtenStart, let end = ProcessProbe.writtenBytes() {
                    written = (written ?? 0) + end - writtenStart
                }
                phases += counts
                if batch % max(1, batches / 5) == 0 { progress("  firn batch \(batch)/\(batches)") }
            }
        } catch {
            await opened.close()
            throw LoadBenchmarkError.firn(error)
        }
        await opened.close()
        let peak = ProcessProbe.peakResidentBytes()
        let (digests, bytes) = try await storage.finish(.firn, size: size)
        var result = timing.result(rows: size * batches, peak: peak, digests: digests, bytes: bytes)
        result.phases = LoadBenchmarkReport.Phases(
            phases,
            total: timing.batches.reduce(0, +),
            processCPU: cpu,
            writtenBytesPerRow: written.map { Double($0) / Double(max(1, size * batches)) }
        )
        return (result, workload.currentTableDigest())
    }

    /// Loads `records` as one file: one load with one chunk, as ``FileLoader`` does for a small
    /// file (the chunk's transaction also marks the load finished).
    ///
    /// The records are handed over (`consuming`), as a reader hands over its chunk, so that
    /// applying them copies none.
    @discardableResult
    func load(
        _ records: consuming [ChangeRecord],
        into warehouse: any Warehouse,
        name: String
    ) async throws(WarehouseError) -> ApplyCounts {
        let content = FileContent(name: name + ".csv", checksum: "\(seed)-\(name)", sizeBytes: Int64(records.count))
        guard case .load(let ticket) = try await warehouse.beginLoad(content) else {
            throw WarehouseError.statementFailed(sql: "", reason: "\(name) was already loaded; use a fresh file")
        }
        // applyChunk sets each record's arrival load (its chunk) itself.
        let rows = Int64(records.count)
        return try await warehouse.applyChunk(
            ticket,
            RecordChunk(records: records, rejects: [], lastRow: rows),
            finishing: true,
            warnings: []
        )
    }

    private func measureBaseline(
        on storage: some BenchStorage,
        size: Int,
        batches: Int,
        progress: (String) -> Void
    ) async throws(LoadBenchmarkError) -> LoadBenchmarkReport.EngineResult {
        ProcessProbe.resetPeak()
        var workload = BenchWorkload(seed: seed)
        var timing = Timing()
        let baseline = try await storage.openBaseline(size: size)
        do {
            let base = workload.base(n)
            var start = ProcessProbe.nanoseconds()
            try await baseline.apply(batchID: 0, records: base, sourceFile: "bench-B\(size)-base.csv")
            timing.base = Double(ProcessProbe.nanoseconds() - start) / 1e9
            try await storage.analyze(.sql, size: size)
            await Self.settle(progress: progress)
            for batch in 1...batches {
                let records = workload.nextBatch(size: size)
                start = ProcessProbe.nanoseconds()
                try await baseline.apply(batchID: Int64(batch), records: records, sourceFile: "bench-B\(size)-\(batch)")
                timing.batches.append(Double(ProcessProbe.nanoseconds() - start) / 1e9)
                if batch % max(1, batches / 5) == 0 { progress("  sql batch \(batch)/\(batches)") }
            }
        } catch {
            await baseline.close()
            throw .baseline(PostgresBenchStorage.reason(error))
        }
        await baseline.close()
        let peak = ProcessProbe.peakResidentBytes()
        let (digests, bytes) = try await storage.finish(.sql, size: size)
        return timing.result(rows: size * batches, peak: peak, digests: digests, bytes: bytes)
    }

    // MARK: Helpers

    /// Waits until the process is nearly idle (under 5% of a core over a quarter second, at
    /// most two minutes), so that the batches time the steady state, not what the base load
    /// left running in the background. At N = 10,000,000 the first batch otherwise took about
    /// a second, where the process was idle again after a quarter second to a second.
    static func settle(progress: (String) -> Void) async {
        let start = ProcessProbe.nanoseconds()
        var cpu = ThreadCPUTime.processSeconds()
        while ProcessProbe.nanoseconds() - start < 120_000_000_000 {
            try? await Task.sleep(for: .milliseconds(250))
            let now = ThreadCPUTime.processSeconds()
            defer { cpu = now }
            if now - cpu < 0.05 * 0.25 { break }
        }
        let seconds = Double(ProcessProbe.nanoseconds() - start) / 1e9
        progress(String(format: "  the base load's background work settled in %.2f s", seconds))
    }

    private struct Timing {
        var base = 0.0
        var batches: [Double] = []

        func result(rows: Int, peak: Int64, digests: TableDigests, bytes: Int64) -> LoadBenchmarkReport.EngineResult {
            let total = batches.reduce(0, +)
            let milliseconds = batches.map { $0 * 1000 }
            return LoadBenchmarkReport.EngineResult(
                baseLoadSeconds: base,
                batchSeconds: total,
                rowsPerSecond: total > 0 ? Double(rows) / total : 0,
                p50Milliseconds: milliseconds.percentile(0.5),
                p99Milliseconds: milliseconds.percentile(0.99),
                maxMilliseconds: milliseconds.max() ?? 0,
                peakResidentBytes: peak,
                current: digests.current,
                history: digests.history,
                databaseBytes: bytes,
                batchMilliseconds: milliseconds
            )
        }
    }

    static func digests(path: String) throws(LoadBenchmarkError) -> TableDigests {
        do {
            return try TableDigests.read(path: path)
        } catch {
            throw .check(path: path, reason: "\(error)")
        }
    }

    func prepareWorkDirectory() throws(LoadBenchmarkError) -> String { try prepareDirectory() }

    /// Figures from per-batch seconds.
    static func result(
        base: Double,
        batches: [Double],
        rows: Int,
        peak: Int64,
        digests: TableDigests,
        bytes: Int64
    ) -> LoadBenchmarkReport.EngineResult {
        var timing = Timing()
        timing.base = base
        timing.batches = batches
        return timing.result(rows: rows, peak: peak, digests: digests, bytes: bytes)
    }

    private func prepareDirectory() throws(LoadBenchmarkError) -> String {
        let path =
            directory
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("firn-bench-\(getpid())")
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .directory(path: path, reason: "\(error)")
        }
        return path
    }

    static func removeDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    static func fileSize(_ path: String) -> Int64 {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
    }

    static func sqliteVersion() -> String {
        (try? DatabaseQueue().read { try String.fetchOne($0, sql: "SELECT sqlite_version()") }) ?? nil ?? "?"
    }
}

/// Why the load benchmark could not finish.
public enum LoadBenchmarkError: Error, Sendable, CustomStringConvertible {
    /// Firn's warehouse failed.
    case firn(WarehouseError)
    /// The plain-SQL baseline failed.
    case baseline(String)
    /// The database directory could not be made.
    case directory(path: String, reason: String)
    /// A finished database could not be read back for the SCD1 check.
    case check(path: String, reason: String)
    /// A workload file could not be written.
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case .firn(let error): "firn warehouse: \(error)"
        case .baseline(let reason): "plain-SQL baseline: \(reason)"
        case .directory(let path, let reason): "cannot create benchmark directory \(path): \(reason)"
        case .check(let path, let reason): "cannot read back \(path) for the SCD1 check: \(reason)"
        case .write(let path, let reason): "cannot write workload file \(path): \(reason)"
        }
    }
}
