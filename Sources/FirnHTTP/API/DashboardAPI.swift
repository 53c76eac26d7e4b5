import FirnCore
import FirnFlow
import FirnIngest
import FirnObjectStore
import FirnTasks
import FirnWarehouse
import NIOConcurrencyHelpers

/// What the dashboard reads: the warehouse always; the running flow, the bucket and ingest's
/// journal when this process has them.
public struct DashboardSources: Sendable {
    /// The warehouse the page shows.
    public var warehouse: any Warehouse
    /// The flow running in this process (`firn run`), for live counts; `nil` in `firn serve`.
    public var flow: Flow?
    /// The bucket, for the readiness check.
    public var store: (any ObjectStore)?
    /// Ingest's journal, for provenance.
    public var journal: IngestJournal?

    /// Creates the sources.
    public init(warehouse: any Warehouse, flow: Flow? = nil, store: (any ObjectStore)? = nil, journal: IngestJournal? = nil) {
        self.warehouse = warehouse
        self.flow = flow
        self.store = store ?? flow?.store
        self.journal = journal
    }
}

/// The API's answers, apart from HTTP: each method reads through the warehouse seam (typed,
/// paginated, async) and returns the body to encode, or throws ``APIError``.
struct DashboardAPI: Sendable {
    let sources: DashboardSources
    let series: SeriesRecorder
    let started = ContinuousClock.now
    let liveRowCache = NIOLockedValueBox<(count: Int, load: Int64, at: ContinuousClock.Instant)?>(nil)

    var warehouse: any Warehouse { sources.warehouse }
    var entity: EntityConfiguration { sources.warehouse.entity }

    func status() async throws(APIError) -> API.Status {
        var status = API.Status(
            warehouse: warehouse.location,
            bucket: sources.store?.location.description,
            entity: entity.name.normalized,
            tables: API.Tables(
                staging: entity.rawTable.normalized,
                current: entity.currentTable.normalized,
                history: entity.historyTable.normalized,
                stream: entity.streamName.normalized
            ),
            mode: sources.flow == nil ? "serve" : "run",
            uptimeSeconds: (ContinuousClock.now - started).seconds,
            latestLoadId: 0
        )
        do {
            status.latestLoadId = try await warehouse.latestLoadID()
            status.liveRows = try await liveRows(latestLoad: status.latestLoadId)
        } catch {
            status.lastError = "warehouse: \(error.description)"
        }
        guard let flow = sources.flow else {
            // Another process loads: freshness from load history, over the latest 100 loads.
            if let loads = try? await warehouse.loadHistory(.first(100)) {
                let samples = loads.items.compactMap(\.freshnessSeconds)
                if !samples.isEmpty { status.freshness = API.Freshness(FreshnessSummary(of: samples)) }
            }
            return status
        }
        status.uptimeSeconds = flow.uptimeSeconds
        let generated = flow.generated
        if generated.files > 0 { status.generator = API.Generator(files: generated.files, rows: generated.rows) }
        // Every ingest: the landing directory's and its routed sub-folders'.
        if let stats = flow.ingestStatistics {
            status.ingest = API.Ingest(
                uploaded: stats.filesUploaded,
                uploading: stats.inFlight,
                duplicate: stats.filesDuplicate,
                failed: stats.filesFailed,
                retries: stats.retries,
                bytes: stats.bytesUploaded
            )
        }
        if let pipe = flow.pipe {
            let stats = pipe.statistics
            status.pipe = API.Pipe(
                loaded: stats.objectsLoaded,
                skipped: stats.objectsSkipped,
                failed: stats.objectsFailed,
                rowsLoaded: stats.rowsLoaded,
                rowsRejected: stats.rowsRejected,
                versionsOpened: stats.versionsOpened,
                versionsClosed: stats.versionsClosed,
                waiting: pipe.waitingObjects,
                loading: pipe.claimedObjects,
                suspended: pipe.isSuspended
            )
            if let error = stats.lastError { status.lastError = error }
            let freshness = flow.freshness.summary()
            if freshness.count > 0 { status.freshness = API.Freshness(freshness) }
        }
        return status
    }

    /// SCD1's row count: counted again after each new load, else at most every two seconds
    /// (for manual DML), however many pages watch.
    func liveRows(latestLoad: Int64) async throws(WarehouseError) -> Int {
        let now = ContinuousClock.now
        if let cached = liveRowCache.withLockedValue({ $0 }), cached.load == latestLoad, now - cached.at < .seconds(2) {
            return cached.count
        }
        let count = try await warehouse.liveRowCount()
        liveRowCache.withLockedValue { $0 = (count, latestLoad, now) }
        return count
    }

    func loads(_ request: PageRequest) async throws(APIError) -> API.PageBody<API.Load> {
        let page = try await read { () async throws(WarehouseError) in try await warehouse.loadHistory(request) }
        return API.PageBody(items: page.items.map(API.Load.init), next: ListingQuery.text(of: page.next))
    }

    func load(_ id: Int64) async throws(APIError) -> API.Load {
        guard let load = try await read({ () async throws(WarehouseError) in try await warehouse.loadSummary(id) }) else {
            throw .notFound("load \(id) is not in load history")
        }
        return API.Load(load)
    }

    func rejects(load: Int64?, _ request: PageRequest) async throws(APIError) -> API.PageBody<API.Reject> {
        if let load { _ = try await self.load(load) }
        let page = try await read { () async throws(WarehouseError) in try await warehouse.rejects(load: load, request) }
        return API.PageBody(items: page.items.map(API.Reject.init), next: ListingQuery.text(of: page.next))
    }

    func history(keyText: String) async throws(APIError) -> API.History {
        let key: Key
        do { key = try entity.key(parsing: keyText) } catch { throw .badRequest(error.description) }
        let versions = try await read { () async throws(WarehouseError) in try await warehouse.history(of: key) }
        let late = try await read { () async throws(WarehouseError) in try await warehouse.lateRecords(of: key) }
        return API.History(
            entity: entity.name.normalized,
            key: key.description,
            keyColumns: entity.keyColumns.map(\.name.normalized),
            attributeColumns: entity.attributeColumns.map(\.name.normalized),
            versions: versions.map { API.Version($0, entity: entity) },
            late: late.map(API.Late.init)
        )
    }

    func asOf(timeText: String, _ request: PageRequest) async throws(APIError) -> API.PageBody<API.Version> {
        guard let time = Timestamp(parsing: timeText) else {
            throw .badRequest("time \(timeText.debugDescription) is not a timestamp; write e.g. 2026-11-24T10:15:30Z")
        }
        let page = try await read { () async throws(WarehouseError) in try await warehouse.asOf(time, request) }
        return API.PageBody(
            items: page.items.map { API.Version($0, entity: entity) },
            next: ListingQuery.text(of: page.next)
        )
    }

    func tasks() async throws(APIError) -> [API.TaskBody] {
        try await read { () async throws(WarehouseError) in try await warehouse.tasks() }.map(API.TaskBody.init)
    }

    func taskRuns(task: String?, _ request: PageRequest) async throws(APIError) -> API.PageBody<API.TaskRunBody> {
        if let task { _ = try await self.task(named: task) }
        let page = try await read { () async throws(WarehouseError) in try await warehouse.taskRuns(task: task, request) }
        return API.PageBody(items: page.items.map(API.TaskRunBody.init), next: ListingQuery.text(of: page.next))
    }

    func task(named name: String) async throws(APIError) -> API.TaskBody {
        guard let task = try await tasks().first(where: { $0.name == name }) else {
            throw .notFound("there is no task \(name.debugDescription); GET /api/tasks lists them")
        }
        return task
    }

    /// Suspends, resumes or starts a task. A run starts in the background (with its
    /// retries) and shows in the task's runs; it needs the scheduler of `firn run`.
    func taskAction(_ name: String, action: String) async throws(APIError) -> API.TaskAction {
        _ = try await task(named: name)
        switch action {
        case "suspend", "resume":
            try await read { () async throws(WarehouseError) in
                try await warehouse.setTaskState(name, suspended: action == "suspend")
            }
            return API.TaskAction(task: name, action: action, state: try await task(named: name).state, ran: nil)
        default:
            guard let scheduler = sources.flow?.scheduler else {
                throw APIError(
                    .conflict,
                    "tasks run in `firn run` (or `firn task run \(name)`); this process only shows them"
                )
            }
            Task { _ = try? await scheduler.runNow(name) }
            return API.TaskAction(task: name, action: action, state: nil, ran: true)
        }
    }

    func workers() async throws(APIError) -> API.Workers {
        let workers = try await read { () async throws(WarehouseError) in try await warehouse.workers() }
        let lease = try await read { () async throws(WarehouseError) in try await warehouse.leases() }
            .first { $0.name == "scheduler" }
        let now = Timestamp.now()
        return API.Workers(
            workers: workers.map(API.Worker.init),
            schedulerLease: lease.map { lease in
                API.Lease(
                    name: lease.name,
                    holder: lease.holder,
                    expiresAt: lease.expiresAt,
                    isHeld: Timestamp(canonical: lease.expiresAt).map { $0 > now } ?? false
                )
            }
        )
    }

    /// Failed loads, failed task runs and the pipe's last error, newest first.
    func bulletins(limit: Int) async throws(APIError) -> [API.Bulletin] {
        var bulletins: [API.Bulletin] = []
        let loads = try await read { () async throws(WarehouseError) in try await warehouse.loadHistory(.first(100)) }
        for load in loads.items {
            if load.status == "failed" {
                bulletins.append(
                    API.Bulletin(
                        at: load.finishedAt ?? load.startedAt,
                        source: "load",
                        message: "\(load.fileName): \(load.error ?? "failed")",
                        loadId: load.id
                    )
                )
            } else if load.rowsRejected > 0 {
                bulletins.append(
                    API.Bulletin(
                        at: load.finishedAt ?? load.startedAt,
                        source: "rejects",
                        message: "\(load.fileName): \(load.rowsRejected) row(s) rejected",
                        loadId: load.id
                    )
                )
            }
        }
        let runs = try await read { () async throws(WarehouseError) in try await warehouse.taskRuns(task: nil, .first(100)) }
        for run in runs.items where run.status == "failed" {
            bulletins.append(
                API.Bulletin(
                    at: run.finishedAt ?? run.startedAt,
                    source: "task",
                    message: "task \(run.task) attempt \(run.attempt): \(run.error ?? "failed")",
                    loadId: nil
                )
            )
        }
        if let flow = sources.flow {
            if let error = flow.pipe?.statistics.lastError {
                bulletins.append(API.Bulletin(at: Timestamp.now().description, source: "pipe", message: error, loadId: nil))
            }
            if let ingest = flow.ingestStatistics, let at = ingest.lastRetryAt {
                bulletins.append(
                    API.Bulletin(
                        at: at,
                        source: "store",
                        message: "upload retried (\(ingest.retries) in all): \(ingest.lastRetryMessage ?? "")",
                        loadId: nil
                    )
                )
            }
            if let ingest = flow.ingestStatistics, ingest.filesFailed > 0 {
                bulletins.append(
                    API.Bulletin(
                        at: Timestamp.now().description,
                        source: "ingest",
                        message: "\(ingest.filesFailed) file(s) could not be uploaded; see the failed folder",
                        loadId: nil
                    )
                )
            }
        }
        return Array(bulletins.sorted { $0.at > $1.at }.prefix(limit))
    }

    func provenance(of text: String) async throws(APIError) -> API.Provenance {
        var files: [API.ProvenanceFile] = []
        if let journal = sources.journal {
            do {
                let entries = try await runBlocking { () throws(IngestError) in try journal.find(text) }
                files = entries.map { entry in
                    API.ProvenanceFile(
                        name: entry.name,
                        landingPath: entry.landingPath,
                        size: entry.size,
                        sha256: entry.sha256,
                        objectKey: entry.objectKey,
                        etag: entry.etag,
                        state: entry.state.rawValue,
                        attempts: entry.attempts,
                        error: entry.error,
                        landedAt: entry.landedAt,
                        uploadedAt: entry.uploadedAt,
                        finishedAt: entry.finishedAt,
                        finalPath: entry.finalPath
                    )
                }
            } catch {
                throw APIError(.internalServerError, "ingest journal: \(error)")
            }
        }
        var keys = files.map(\.objectKey)
        if keys.isEmpty { keys = [text] }
        var loads: [API.Load] = []
        for key in Set(keys).sorted() {
            loads += try await read { () async throws(WarehouseError) in try await warehouse.loads(named: key) }
                .map(API.Load.init)
        }
        if files.isEmpty && loads.isEmpty {
            throw .notFound("no file or object \(text.debugDescription) in the ingest journal or load history")
        }
        return API.Provenance(query: text, files: files, loads: loads)
    }

    /// Readiness: the warehouse answers, and the bucket lists.
    func readiness() async -> (ready: Bool, checks: [String: String]) {
        var checks: [String: String] = [:]
        var ready = true
        do {
            _ = try await warehouse.latestLoadID()
            checks["warehouse"] = "ok"
        } catch {
            checks["warehouse"] = error.description
            ready = false
        }
        if let store = sources.store {
            do {
                _ = try await store.list(after: try ObjectKey("~"))
                checks["bucket"] = "ok"
            } catch {
                checks["bucket"] = "\(error)"
                ready = false
            }
        }
        return (ready, checks)
    }

    func read<T>(_ body: () async throws(WarehouseError) -> T) async throws(APIError) -> T {
        do { return try await body() } catch { throw APIError(error) }
    }
}
