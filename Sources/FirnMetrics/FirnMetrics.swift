import Metrics

/// The metrics every stage reports, named in one place, through swift-metrics.
///
/// A library only records; the process chooses the backend (`firn run` and `firn serve`
/// bootstrap Prometheus and serve it at `/metrics`). Without a bootstrapped backend every call
/// is a no-op. Labels never carry a file name, a key or a credential: only the fixed values
/// below, so the number of series stays small and nothing private reaches a scraper.
public enum FirnMetrics {
    /// Names of the metrics, as Prometheus shows them.
    public enum Name {
        /// Files ingest finished, by `outcome` (`uploaded`, `duplicate`, `failed`).
        public static let ingestFiles = "firn_ingest_files_total"
        /// Bytes ingest uploaded.
        public static let ingestBytes = "firn_ingest_bytes_total"
        /// Bucket calls retried after a failure, by `stage` (`ingest`).
        public static let storeRetries = "firn_store_retries_total"
        /// Objects the pipe finished, by `status` (`loaded`, `skipped`, `failed`).
        public static let pipeFiles = "firn_pipe_files_total"
        /// Rows the pipe read, by `outcome` (`loaded`, `rejected`).
        public static let pipeRows = "firn_pipe_rows_total"
        /// SCD2 versions, by `change` (`opened`, `closed`).
        public static let versions = "firn_scd2_versions_total"
        /// Seconds from an object's first byte read to its last commit.
        public static let loadDuration = "firn_load_duration_seconds"
        /// Seconds one chunk's transaction took (apply and commit).
        public static let commitDuration = "firn_commit_duration_seconds"
        /// Seconds the warehouse spent applying chunks, by `phase` (see ``ApplyPhase``).
        public static let applySeconds = "firn_apply_seconds_total"
        /// Change rows applied (staged) by those chunks.
        public static let applyRows = "firn_apply_rows_total"
        /// Seconds from a file's landing to the commit that made it visible in SCD1 and SCD2.
        public static let freshness = "firn_freshness_seconds"
        /// Objects between stages, by `state` (`uploading`, `waiting`, `loading`).
        public static let objects = "firn_objects"
        /// Task runs that ended, by `state` (`succeeded`, `failed`).
        public static let taskRuns = "firn_task_runs_total"
    }

    /// Freshness histogram buckets, in seconds: fine below a second, where a healthy flow is.
    public static let freshnessBuckets: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ]

    /// Ingest finished a file.
    public static func ingested(outcome: String, bytes: Int64 = 0) {
        Counter(label: Name.ingestFiles, dimensions: [("outcome", outcome)]).increment()
        if bytes > 0 { Counter(label: Name.ingestBytes).increment(by: Int(bytes)) }
    }

    /// A bucket call was retried.
    public static func storeRetried(stage: String) {
        Counter(label: Name.storeRetries, dimensions: [("stage", stage)]).increment()
    }

    /// The pipe finished an object.
    public static func pipeFinished(
        status: String,
        rowsLoaded: Int64,
        rowsRejected: Int64,
        versionsOpened: Int64,
        versionsClosed: Int64,
        nanoseconds: Int64?
    ) {
        Counter(label: Name.pipeFiles, dimensions: [("status", status)]).increment()
        if rowsLoaded > 0 { Counter(label: Name.pipeRows, dimensions: [("outcome", "loaded")]).increment(by: Int(rowsLoaded)) }
        if rowsRejected > 0 {
            Counter(label: Name.pipeRows, dimensions: [("outcome", "rejected")]).increment(by: Int(rowsRejected))
        }
        if versionsOpened > 0 {
            Counter(label: Name.versions, dimensions: [("change", "opened")]).increment(by: Int(versionsOpened))
        }
        if versionsClosed > 0 {
            Counter(label: Name.versions, dimensions: [("change", "closed")]).increment(by: Int(versionsClosed))
        }
        if let nanoseconds { Metrics.Timer(label: Name.loadDuration).recordNanoseconds(nanoseconds) }
    }

    /// One chunk's transaction took this long.
    public static func committed(nanoseconds: Int64) {
        Metrics.Timer(label: Name.commitDuration).recordNanoseconds(nanoseconds)
    }

    /// The phases of applying a chunk, as `firn_apply_seconds_total` labels them; they add up
    /// to the chunk's transaction (grouping runs on a second thread beside staging and is
    /// counted apart from it).
    public enum ApplyPhase: String, CaseIterable, Sendable {
        case group, stage, probe, write, commit
    }

    /// A chunk (or a batch of files' chunks) was applied: `rows` change rows, and the seconds
    /// each phase took.
    public static func applied(rows: Int, seconds: [(ApplyPhase, Double)]) {
        if rows > 0 { Counter(label: Name.applyRows).increment(by: rows) }
        for (phase, value) in seconds where value > 0 {
            FloatingPointCounter(label: Name.applySeconds, dimensions: [("phase", phase.rawValue)]).increment(by: value)
        }
    }

    /// A file's freshness, in seconds.
    public static func freshness(seconds: Double) {
        Metrics.Timer(label: Name.freshness).recordNanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// Objects between stages now.
    public static func objects(state: String, count: Int) {
        Gauge(label: Name.objects, dimensions: [("state", state)]).record(count)
    }

    /// A task run ended.
    public static func taskRunEnded(succeeded: Bool) {
        Counter(label: Name.taskRuns, dimensions: [("state", succeeded ? "succeeded" : "failed")]).increment()
    }
}
