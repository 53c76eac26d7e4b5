import FirnCore
import FirnFlow
import FirnWarehouse

/// The JSON bodies of the HTTP API, as `/openapi.json` documents them. They are their own
/// types, not the warehouse's, so the API's shape changes only on purpose.
public enum API {
    /// Any error: `{"error": "a message a person can act on"}`.
    public struct ErrorBody: Codable, Sendable, Hashable {
        public var error: String
    }

    /// A page of a listing; `next` is the cursor for the following page (absent on the last).
    public struct PageBody<Item: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
        public var items: [Item]
        public var next: String?
    }

    /// A row of load history (Snowflake's COPY_HISTORY).
    public struct Load: Codable, Sendable, Hashable {
        public var id: Int64
        public var source: String
        public var fileName: String
        public var checksum: String
        public var status: String
        public var rowsLoaded: Int64
        public var rowsRejected: Int64
        public var versionsOpened: Int64
        public var versionsClosed: Int64
        public var startedAt: String
        public var finishedAt: String?
        public var error: String?
        public var warnings: String?
        /// When the file landed, when the loader knew it.
        public var landedAt: String?
        /// Seconds from landing to the commit of the file's last row, when known.
        public var freshnessSeconds: Double?

        init(_ load: LoadSummary) {
            id = load.id
            source = load.source
            fileName = load.fileName
            checksum = load.checksum
            status = load.status
            rowsLoaded = load.rowsLoaded
            rowsRejected = load.rowsRejected
            versionsOpened = load.versionsOpened
            versionsClosed = load.versionsClosed
            startedAt = load.startedAt
            finishedAt = load.finishedAt
            error = load.error
            warnings = load.warnings
            landedAt = load.landedAt
            freshnessSeconds = load.freshnessSeconds
        }
    }

    /// A rejected row.
    public struct Reject: Codable, Sendable, Hashable {
        public var id: Int64
        public var loadId: Int64
        public var sourceFile: String
        public var sourceRow: Int64
        public var reason: String
        public var rawText: String
        public var rejectedAt: String

        init(_ reject: RejectRecord) {
            id = reject.id
            loadId = reject.loadID
            sourceFile = reject.sourceFile
            sourceRow = reject.sourceRow
            reason = reject.reason
            rawText = reject.rawText
            rejectedAt = reject.rejectedAt
        }
    }

    /// One SCD2 version: the key's and attributes' values by column name (JSON numbers,
    /// strings or null), its start and its end (absent while open); under `deletes: record`
    /// also the spans in which the key was deleted (``isDeleted``).
    public struct Version: Codable, Sendable, Hashable {
        public var key: String
        public var values: [String: Field]
        public var start: String
        public var end: String?
        public var isCurrent: Bool
        public var isDeleted: Bool

        init(_ version: FirnCore.Version, entity: EntityConfiguration) {
            key = version.key.description
            var values: [String: Field] = [:]
            for (column, value) in zip(entity.keyColumns, version.key.values) { values[column.name.normalized] = Field(value) }
            for (column, value) in zip(entity.attributeColumns, version.attributes) {
                values[column.name.normalized] = Field(value)
            }
            self.values = values
            start = version.start.description
            end = version.end?.description
            isCurrent = version.isCurrent
            isDeleted = version.isDeleted
        }
    }

    /// A stored value: an integer, text or null.
    public enum Field: Codable, Sendable, Hashable {
        case null
        case integer(Int64)
        case text(String)

        init(_ value: Value) {
            switch value {
            case .null: self = .null
            case .integer(let integer): self = .integer(integer)
            case .text(let text): self = .text(text)
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let integer = try? container.decode(Int64.self) {
                self = .integer(integer)
            } else {
                self = .text(try container.decode(String.self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .null: try container.encodeNil()
            case .integer(let integer): try container.encode(integer)
            case .text(let text): try container.encode(text)
            }
        }
    }

    /// A key's history: its versions oldest first, with the entity's columns in order, and
    /// its late records in arrival order.
    public struct History: Codable, Sendable, Hashable {
        public var entity: String
        public var key: String
        public var keyColumns: [String]
        public var attributeColumns: [String]
        public var versions: [Version]
        public var late: [Late]
    }

    /// A record that arrived after a record of its key with a later event time.
    public struct Late: Codable, Sendable, Hashable {
        public var eventTime: String
        /// `upsert` or `delete`.
        public var operation: String
        public var loadId: Int64
        public var sourceRow: Int64
        /// The latest event time of the key among the records that arrived before it.
        public var latestBefore: String

        init(_ record: LateRecord) {
            eventTime = record.eventTime.description
            operation = record.operation == .delete ? "delete" : "upsert"
            loadId = record.loadID
            sourceRow = record.row
            latestBefore = record.latestBefore.description
        }
    }

    /// A task, its state and its latest run.
    public struct TaskBody: Codable, Sendable, Hashable {
        public var name: String
        public var kind: String
        public var trigger: String
        public var body: String
        public var state: String
        public var consecutiveFailures: Int
        public var lastRunAt: String?
        public var lastStatus: String?

        init(_ task: TaskRecord) {
            name = task.name
            kind = task.kind
            trigger = task.trigger
            body = task.body
            state = task.state
            consecutiveFailures = task.consecutiveFailures
            lastRunAt = task.lastRunAt
            lastStatus = task.lastStatus
        }
    }

    /// One attempt of a task run.
    public struct TaskRunBody: Codable, Sendable, Hashable {
        public var id: Int64
        public var task: String
        public var trigger: String
        public var attempt: Int
        public var startedAt: String
        public var finishedAt: String?
        public var status: String
        public var rowsAffected: Int
        public var error: String?

        init(_ run: TaskRun) {
            id = run.id
            task = run.task
            trigger = run.trigger
            attempt = run.attempt
            startedAt = run.startedAt
            finishedAt = run.finishedAt
            status = run.status
            rowsAffected = run.rowsAffected
            error = run.error
        }
    }

    /// A worker sharing the warehouse, as its last heartbeat left it.
    public struct Worker: Codable, Sendable, Hashable {
        public var id: String
        public var host: String
        public var processId: Int64
        public var startedAt: String
        public var heartbeatAt: String
        public var objectsLoaded: Int64
        public var rowsLoaded: Int64
        public var rowsPerSecond: Double
        public var claimedObjects: Int64

        init(_ worker: WorkerRecord) {
            id = worker.id
            host = worker.host
            processId = worker.processID
            startedAt = worker.startedAt
            heartbeatAt = worker.heartbeatAt
            objectsLoaded = worker.objectsLoaded
            rowsLoaded = worker.rowsLoaded
            rowsPerSecond = worker.rowsPerSecond
            claimedObjects = worker.claimedObjects
        }
    }

    /// The workers and who holds the scheduler lease.
    public struct Workers: Codable, Sendable, Hashable {
        public var workers: [Worker]
        public var schedulerLease: Lease?
    }

    /// A lease and its holder.
    public struct Lease: Codable, Sendable, Hashable {
        public var name: String
        public var holder: String
        public var expiresAt: String
        public var isHeld: Bool
    }

    /// Freshness percentiles, in seconds, over `count` files.
    public struct Freshness: Codable, Sendable, Hashable {
        public var count: Int
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var max: Double

        init(_ summary: FreshnessSummary) {
            count = summary.count
            p50 = summary.p50
            p95 = summary.p95
            p99 = summary.p99
            max = summary.max
        }
    }

    /// A task's state change or a run started on request.
    public struct TaskAction: Codable, Sendable, Hashable {
        public var task: String
        public var action: String
        public var state: String?
        public var ran: Bool?
    }

    /// The health checks' answer.
    public struct Health: Codable, Sendable, Hashable {
        public var status: String
        public var checks: [String: String]
    }
}
