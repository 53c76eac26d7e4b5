import FirnFlow

extension API {
    /// Everything the flow picture shows, as one snapshot (also sent every second on
    /// `/api/events`). Stages this process does not run are absent: `firn serve` shows the
    /// warehouse's side only.
    public struct Status: Codable, Sendable, Hashable {
        /// Where the tables are (a path, or a URL without its password).
        public var warehouse: String
        /// The bucket, when this process knows it.
        public var bucket: String?
        /// The entity's name and its tables.
        public var entity: String
        public var tables: Tables
        /// `run` (the flow runs in this process) or `serve` (reads only).
        public var mode: String
        /// Seconds since the process started.
        public var uptimeSeconds: Double
        public var generator: Generator?
        public var ingest: Ingest?
        public var pipe: Pipe?
        /// Rows in SCD1 now.
        public var liveRows: Int?
        /// The newest load id (0 when none).
        public var latestLoadId: Int64
        /// Freshness over every file this process loaded since it started.
        public var freshness: Freshness?
        /// The last error the pipe met, cleared by its next success.
        public var lastError: String?
    }

    /// The entity's table names.
    public struct Tables: Codable, Sendable, Hashable {
        public var staging: String
        public var current: String
        public var history: String
        public var stream: String
    }

    /// What the generator wrote.
    public struct Generator: Codable, Sendable, Hashable {
        public var files: Int
        public var rows: Int
    }

    /// What ingest did: uploads confirmed, in flight, duplicates and failures.
    public struct Ingest: Codable, Sendable, Hashable {
        public var uploaded: Int
        public var uploading: Int
        public var duplicate: Int
        public var failed: Int
        public var retries: Int
        public var bytes: Int64
    }

    /// What the pipe did, and the objects waiting for it or being loaded.
    public struct Pipe: Codable, Sendable, Hashable {
        public var loaded: Int
        public var skipped: Int
        public var failed: Int
        public var rowsLoaded: Int64
        public var rowsRejected: Int64
        public var versionsOpened: Int64
        public var versionsClosed: Int64
        public var waiting: Int
        public var loading: Int
        public var suspended: Bool
    }

    /// One point of the last hour's plot: change rows per second and freshness over an interval.
    public struct SeriesPoint: Codable, Sendable, Hashable {
        /// The interval's end, in milliseconds since 1970.
        public var at: Int64
        public var rowsPerSecond: Double
        public var files: Int
        public var freshnessP50: Double?
        public var freshnessP99: Double?
    }

    /// The last hour's points, oldest first, `intervalSeconds` apart.
    public struct Series: Codable, Sendable, Hashable {
        public var intervalSeconds: Double
        public var points: [SeriesPoint]
    }

    /// A file's journey: what ingest recorded, then its loads.
    public struct Provenance: Codable, Sendable, Hashable {
        public var query: String
        public var files: [ProvenanceFile]
        /// Loads of the object keys found (or of `query` itself when ingest knows no file).
        public var loads: [Load]
    }

    /// What ingest recorded about one landed file.
    public struct ProvenanceFile: Codable, Sendable, Hashable {
        public var name: String
        public var landingPath: String
        public var size: Int64
        public var sha256: String
        public var objectKey: String
        public var etag: String?
        public var state: String
        public var attempts: Int
        public var error: String?
        public var landedAt: String
        public var uploadedAt: String?
        public var finishedAt: String?
        public var finalPath: String?
    }

    /// An entry of the error feed (NiFi's bulletins): a failed load or task run, or the pipe's
    /// last error.
    public struct Bulletin: Codable, Sendable, Hashable {
        public var at: String
        public var source: String
        public var message: String
        /// The load it concerns, when it is one.
        public var loadId: Int64?
    }
}
