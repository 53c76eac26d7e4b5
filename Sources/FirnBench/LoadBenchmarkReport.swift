import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation

/// What `firn bench load` measured: per batch size, Firn and the plain-SQL baseline side by
/// side, and whether their final tables agree.
///
/// ``description`` is the table people read; the value is `Codable` (``json()``) for machines.
public struct LoadBenchmarkReport: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Base customers loaded before the measured batches.
    public var n: Int
    /// The workload seed.
    public var seed: UInt64
    /// Whether both engines ran with `synchronous=FULL` (an fsync per committed transaction);
    /// on PostgreSQL, durability is the server's setting and this is `true`.
    public var isDurable: Bool
    /// The database engine both ran on, with its version (`sqlite 3.46.1`, `PostgreSQL 15.14 at …`).
    public var engine: String
    /// One entry per batch size, in the order run.
    public var sizes: [SizeResult]
    /// For `--files`: the directory the batches came from (then ``n`` is 0: the base is the
    /// first file). `nil` for a generated workload.
    public var files: String?
    /// Whether the engines' batches ran in turn (``LoadBenchmark/interleaves``); then each
    /// size's peak memory is the process's over both.
    public var isInterleaved: Bool = false

    /// One batch size's run.
    public struct SizeResult: Sendable, Hashable, Codable {
        /// Change rows per batch (B).
        public var batchSize: Int
        /// Batches applied (K).
        public var batches: Int
        /// Change rows applied in all batches (K × B); the base load is not included.
        public internal(set) var changeRows: Int
        /// Firn's figures.
        public var firn: EngineResult
        /// The plain-SQL baseline's figures, when it ran.
        public var sql: EngineResult?
        /// The SCD1 table the workload generator expects (live customers, latest values).
        public var expectedCurrent: TableDigest
        /// Whether Firn's SCD1 equals the generator's expectation.
        public var firnMatchesExpected: Bool
        /// Whether the baseline's SCD1 equals Firn's (`nil` without a baseline).
        public var currentTablesAgree: Bool?
        /// Whether the baseline's history equals Firn's row for row (`nil` without a baseline).
        public var historyTablesAgree: Bool?
        /// Firn's rows per second over the baseline's (`nil` without a baseline).
        public var speedUp: Double?
        /// With `--workers` on PostgreSQL: the same batches shared by several workers, one
        /// entry per worker count (`nil` when not run).
        public var workers: [WorkersResult]?

        /// Creates a result and derives the checks and the speed-up from the figures.
        public init(batchSize: Int, batches: Int, firn: EngineResult, sql: EngineResult?, expectedCurrent: TableDigest)
        {
            self.batchSize = batchSize
            self.batches = batches
            self.changeRows = batchSize * batches
            self.firn = firn
            self.sql = sql
            self.expectedCurrent = expectedCurrent
            self.firnMatchesExpected = firn.current == expectedCurrent
            self.currentTablesAgree = sql.map { $0.current == firn.current }
            self.historyTablesAgree = sql.map { $0.history == firn.history }
            self.speedUp = sql.flatMap { $0.rowsPerSecond > 0 ? firn.rowsPerSecond / $0.rowsPerSecond : nil }
        }
    }

    /// One engine's figures for one batch size.
    public struct EngineResult: Sendable, Hashable, Codable {
        /// Seconds to load the N base customers (one load; not in the throughput).
        public var baseLoadSeconds: Double
        /// Seconds spent applying all K batches (sum of batch latencies).
        public var batchSeconds: Double
        /// Change rows per second: K × B / ``batchSeconds``.
        public var rowsPerSecond: Double
        /// Median batch latency in milliseconds (nearest rank).
        public var p50Milliseconds: Double
        /// 99th-percentile batch latency in milliseconds (nearest rank; the maximum when K < 100).
        public var p99Milliseconds: Double
        /// Slowest batch in milliseconds.
        public var maxMilliseconds: Double
        /// Peak resident memory of the whole process while this engine ran (`VmHWM` after a
        /// reset, else `ru_maxrss` since process start), in bytes.
        public var peakResidentBytes: Int64
        /// Digest of the final SCD1 table (`customer`).
        public var current: TableDigest
        /// Digest of the final SCD2 table (`customer_history`).
        public var history: TableDigest
        /// Size of the database file after the run (without WAL), in bytes.
        public var databaseBytes: Int64
        /// Where Firn's batch time went (Firn only; `nil` for the baseline).
        public var phases: Phases?
        /// Every batch's latency in milliseconds, in the order the batches were applied.
        public var batchMilliseconds: [Double] = []
    }

    /// The same batches applied by several Firn workers at once on one server.
    public struct WorkersResult: Sendable, Hashable, Codable {
        /// Workers, each with its own connection pool and remembered key states.
        public var workers: Int
        /// From the first batch's start to the last batch's commit.
        public var seconds: Double
        /// Change rows per second over ``seconds`` (wall time, not summed latencies).
        public var rowsPerSecond: Double
        /// Median batch latency in milliseconds, waiting for the apply turn included.
        public var p50Milliseconds: Double
        /// 99th-percentile batch latency in milliseconds.
        public var p99Milliseconds: Double
        /// Peak resident memory of the process (all workers), in bytes.
        public var peakResidentBytes: Int64
        /// Keys replayed because a later batch had committed before an earlier one.
        public var replayedKeys: Int
        /// Whether SCD1 equals the generator's expectation.
        public var matchesExpected: Bool
        /// Whether the history equals the single-worker run's.
        public var historyMatchesOneWorker: Bool
    }

    /// Firn's batch time by phase, in seconds summed over all batches.
    public struct Phases: Sendable, Hashable, Codable {
        /// Grouping and sorting records in memory.
        public var group: Double
        /// Probing keys the writer did not remember.
        public var probe: Double
        /// Staging inserts.
        public var stage: Double
        /// Reconciling keys and writing history and SCD1.
        public var write: Double
        /// Committing (WAL write, fsync).
        public var commit: Double
        /// Everything else in the batch: beginning and finishing the load (two small
        /// transactions), reading load progress, rejects.
        public var other: Double
        /// CPU seconds Firn's process used during the batches (all its threads; on
        /// PostgreSQL the server's are not counted); `nil` when not measured.
        public var processCPU: Double?
        /// Bytes Firn's process wrote (`write` calls: the log, checkpoints) per change row
        /// during the batches; `nil` when not measured.
        public var writtenBytesPerRow: Double?
        /// Keys whose state the writer remembered (no probe).
        public var rememberedKeys: Int
        /// Keys with late or equal-time records, replayed from history and unchanged records.
        public var recomputedKeys: Int

        /// Splits `total` by the counts' phase timings.
        public init(
            _ counts: ApplyCounts,
            total: Double,
            processCPU: Double? = nil,
            writtenBytesPerRow: Double? = nil
        ) {
            self.processCPU = processCPU
            self.writtenBytesPerRow = writtenBytesPerRow
            group = counts.timings.group
            probe = counts.timings.probe
            stage = counts.timings.stage
            write = counts.timings.write
            commit = counts.timings.commit
            other = max(0, total - group - probe - stage - write - commit)
            rememberedKeys = counts.cachedKeys
            recomputedKeys = counts.recomputedKeys
        }

        /// `group 3% probe 10% …` of the total.
        public var summary: String {
            let total = max(group + probe + stage + write + commit + other, 1e-9)
            let parts = [
                ("group", group), ("probe", probe), ("stage", stage), ("write", write), ("commit", commit),
                ("other", other),
            ]
            var line = parts.map { "\($0) \(String(format: "%.0f%%", 100 * $1 / total))" }.joined(separator: " ")
            // CPU over wall time: above 100% when several threads worked at once.
            if let processCPU { line += String(format: "; process CPU %.0f%% of that time", 100 * processCPU / total) }
            if let writtenBytesPerRow {
                line += String(format: ", %.1f KiB written a change row", writtenBytesPerRow / 1024)
            }
            return line
        }
    }

    /// `true` when every check passed: Firn's SCD1 is what the generator expects and, where the
    /// baseline ran, both engines' SCD1 tables are equal.
    public var allChecksPass: Bool {
        sizes.allSatisfy { size in
            size.firnMatchesExpected && size.currentTablesAgree != false
                && (size.workers ?? []).allSatisfy { $0.matchesExpected && $0.historyMatchesOneWorker }
        }
    }

    /// The report as pretty-printed JSON (keys sorted).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// A table, one line per batch size, then the checks.
    public var description: String {
        let durability = isDurable ? "full (fsync per commit)" : "normal (no fsync per commit)"
        let workload = files.map { "files=\($0)" } ?? "N=\(n)  seed=\(seed)"
        var lines = ["firn bench load  \(workload)  durability=\(durability)  engine=\(engine)"]
        let header: [(String, Int)] = [
            ("B", 8), ("batches", 8), ("rows", 9), ("firn rows/s", 12), ("firn p50 ms", 12), ("firn p99 ms", 12),
            ("sql rows/s", 11), ("sql p50 ms", 11), ("speed-up", 9), ("peak RSS firn/sql", 18), ("SCD1 check", 10),
        ]
        lines.append(header.map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: " "))
        for size in sizes {
            let sql = size.sql
            let check: String
            if !size.firnMatchesExpected {
                check = "FIRN WRONG"
            } else if size.currentTablesAgree == false {
                check = "MISMATCH"
            } else {
                check = sql == nil ? "ok (gen)" : "ok"
            }
            let cells = [
                "\(size.batchSize)", "\(size.batches)", "\(size.changeRows)", Self.rate(size.firn.rowsPerSecond),
                Self.ms(size.firn.p50Milliseconds), Self.ms(size.firn.p99Milliseconds),
                sql.map { Self.rate($0.rowsPerSecond) } ?? "-", sql.map { Self.ms($0.p50Milliseconds) } ?? "-",
                size.speedUp.map { String(format: "%.2fx", $0) } ?? "-",
                "\(Self.mib(size.firn.peakResidentBytes))/\(sql.map { Self.mib($0.peakResidentBytes) } ?? "-") MiB",
                check,
            ]
            lines.append(
                zip(cells, header).map { $0.padding(toLength: $1.1, withPad: " ", startingAt: 0) }
                    .joined(separator: " ")
            )
        }
        lines.append("")
        for size in sizes {
            var line = "B=\(size.batchSize): base load firn \(Self.seconds(size.firn.baseLoadSeconds))"
            if let sql = size.sql { line += ", sql \(Self.seconds(sql.baseLoadSeconds))" }
            line += "; SCD1 firn \(size.firn.current), expected \(size.expectedCurrent)"
            if let sql = size.sql { line += ", sql \(sql.current)" }
            lines.append(line)
            var history = "        history firn \(size.firn.history)"
            if let sql = size.sql {
                history += ", sql \(sql.history)"
                history += size.historyTablesAgree == true ? " (identical)" : " (DIFFER)"
            }
            lines.append(history)
            if let phases = size.firn.phases {
                lines.append("        firn time: \(phases.summary)")
            }
            for run in size.workers ?? [] {
                var line = "        \(run.workers) worker\(run.workers == 1 ? " " : "s"): \(Self.rate(run.rowsPerSecond)) rows/s"
                line += ", batch p50 \(Self.ms(run.p50Milliseconds)) ms p99 \(Self.ms(run.p99Milliseconds)) ms"
                line += ", peak RSS \(Self.mib(run.peakResidentBytes)) MiB, \(run.replayedKeys) keys replayed"
                line += run.matchesExpected && run.historyMatchesOneWorker ? ", tables ok" : ", TABLES DIFFER"
                lines.append(line)
            }
            if !size.firnMatchesExpected {
                lines.append("        FIRN'S SCD1 DIFFERS FROM THE GENERATOR'S EXPECTED TABLE")
            }
            if size.currentTablesAgree == false {
                lines.append("        FIRN'S AND THE BASELINE'S SCD1 TABLES DIFFER")
            }
        }
        if isInterleaved {
            lines.append("engines interleaved batch by batch (who goes first alternates); peak RSS covers both")
        }
        lines.append("peak RSS is process-wide (generator included); rows/s counts change rows to SCD2, base excluded")
        return lines.joined(separator: "\n")
    }

    static func rate(_ value: Double) -> String { String(format: "%.0f", value) }
    static func ms(_ value: Double) -> String { String(format: "%.1f", value) }
    static func seconds(_ value: Double) -> String { String(format: "%.2f s", value) }
    static func mib(_ bytes: Int64) -> String { String(bytes / (1024 * 1024)) }
}
