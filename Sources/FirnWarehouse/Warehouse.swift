import FirnCore

/// Where staging, SCD1, the change stream and SCD2 of one entity live, with load history,
/// rejects and the stream's offset: the seam between Firn's flow and a database.
///
/// Everything above the warehouse (the pipe, `firn load`, tasks, the flow, the command line)
/// uses this protocol, ``PipeLedger`` and ``TaskLedger`` only; a backend (SQLite, PostgreSQL)
/// implements all three. Every method is `async` and never blocks Swift's cooperative pool: a
/// backend runs its database calls on its own threads or an asynchronous client.
///
/// ## The contract every backend keeps
/// - **Exactly once.** A file's content (``FileContent``: name and checksum) is staged at most
///   once: ``beginLoad(_:continuing:)`` skips content already loaded and resumes content whose
///   load stopped part way after its last committed chunk.
/// - **One transaction per chunk.** ``applyChunk(_:_:finishing:warnings:)`` commits a chunk's
///   staging rows, history, SCD1 changes, rejects and load progress together, or none of them.
///   A chunk applied twice changes nothing the second time.
/// - **History is a pure function of the records** (DESIGN.md section 3): records are replayed
///   in event-time order, ties broken by arrival, whatever the batch sizes and the order files
///   arrive in.
/// - **Arrival is commit order.** A chunk's records arrive after every record already
///   committed. On SQLite this holds because one writer commits at a time and the arrival
///   number is taken inside the write transaction; a backend with concurrent writers must take
///   it under a lock that serialises it with the commits of chunks touching the same keys.
/// - **Remembered key states are never stale.** A backend may remember each key's latest
///   record time and open version between chunks (so in-order records need no reads), but must
///   drop what it remembers when another connection may have written (SQLite checks
///   `PRAGMA data_version` in each write transaction).
/// - **Manual DML is captured, the pipeline's own writes are not.** Changes made to the SCD1
///   table by other clients reach the change stream (triggers); the pipeline's writes must not.
///   The mark that tells them apart is per connection or per transaction, never shared (on
///   SQLite the pipeline's connection runs with triggers turned off).
/// - **Errors say whether to retry** (``WarehouseError/mayRetry``); a failed operation has
///   committed nothing.
public protocol Warehouse: PipeLedger, TaskLedger {
    /// The entity this warehouse keeps tables for.
    var entity: EntityConfiguration { get }
    /// Where the warehouse is, as messages show it (a path, or a URL without its password).
    var location: String { get }

    // MARK: Loading

    /// Starts, resumes or skips loading a file's content.
    ///
    /// Content that load history shows as `loaded` is skipped; content shown as `loading`
    /// (an interrupted attempt, or another process right now), or as `failed` after some rows
    /// were applied, is resumed after its last committed row, with its load time; anything
    /// else starts a new load. When `continuing` names an unfinished load (from
    /// ``unfinishedLoads(named:)``) whose content is the start of this one (the caller checked
    /// the checksum of that many bytes), that load takes this content and resumes, so the rows
    /// it staged are not staged again under the new checksum.
    func beginLoad(_ content: FileContent, continuing: UnfinishedLoad?) async throws(WarehouseError) -> LoadStart

    /// Applies one chunk of a file in one transaction: pending manual changes from the stream
    /// first, then the chunk's records to staging, history and SCD1, its rejects, and the
    /// load's progress. Rows at or before the load's committed progress are skipped.
    ///
    /// - Parameters:
    ///   - ticket: The load, from ``beginLoad(_:continuing:)``.
    ///   - chunk: The next rows of the file, taken over (pass it with `consume`).
    ///   - finishing: Whether this is the file's last chunk: the load is then marked loaded in
    ///     the same transaction.
    ///   - warnings: What the file left to defaults or ignored, for load history (written when
    ///     `finishing`).
    /// - Returns: What the chunk changed (zero counts when it was already applied).
    /// - Throws: ``WarehouseError/loadNotInProgress(_:status:)`` when another process failed the
    ///   load meanwhile.
    @discardableResult
    func applyChunk(
        _ ticket: LoadTicket,
        _ chunk: consuming RecordChunk,
        finishing: Bool,
        warnings: [String]
    ) async throws(WarehouseError) -> ApplyCounts

    /// Applies the chunks of several files in one transaction, in order: each file's records
    /// arrive after the previous file's, and each file's load history row, rejects and progress
    /// are its own, as if ``applyChunk(_:_:finishing:warnings:)`` had applied them one by one
    /// (commits all or none).
    ///
    /// A backend that cannot combine them applies them one transaction each (the default).
    ///
    /// - Returns: What the batch did, in all and per part.
    /// - Throws: ``WarehouseError/loadNotInProgress(_:status:)`` when another process failed one
    ///   of the loads meanwhile (nothing of the batch is applied).
    func applyChunks(_ parts: consuming [ChunkApplication]) async throws(WarehouseError) -> BatchApplyCounts

    /// Starts, resumes or skips loading several files (see ``beginLoad(_:continuing:)``), in
    /// one transaction when the backend can.
    func beginLoads(
        _ contents: [(content: FileContent, continuing: UnfinishedLoad?)]
    ) async throws(WarehouseError) -> [LoadStart]

    /// Marks a load finished and returns its load history row.
    @discardableResult
    func finishLoad(_ ticket: LoadTicket, warnings: [String]) async throws(WarehouseError) -> LoadSummary

    /// Records a file that could not be loaded, with the error, in load history (marking its
    /// load failed when one is in progress).
    @discardableResult
    func recordFailure(_ content: FileContent, error: String) async throws(WarehouseError) -> LoadSummary

    /// The loads of a file name that stopped part way, newest first: interrupted (`loading`) or
    /// failed after applying rows.
    func unfinishedLoads(named name: String) async throws(WarehouseError) -> [UnfinishedLoad]

    /// ``unfinishedLoads(named:)`` of several names at once, by name (a name without any maps
    /// to an empty list): one round trip for a batch of files where the backend can.
    func unfinishedLoads(named names: [String]) async throws(WarehouseError) -> [String: [UnfinishedLoad]]

    // MARK: The stream and user SQL

    /// Applies pending manual changes to the SCD1 table to history, each at its statement's
    /// time, and advances the stream's offset, in one transaction.
    @discardableResult
    func consumeStream() async throws(WarehouseError) -> StreamConsumption

    /// The stream's pending net changes, as a Snowflake stream shows them.
    func pendingStream() async throws(WarehouseError) -> StreamSnapshot

    /// Whether the entity's stream has changes not yet consumed.
    func streamHasData() async throws(WarehouseError) -> Bool

    /// Runs SQL as a user typed it: one or more statements in one transaction. Writes to Firn's
    /// bookkeeping, schema changes to Firn's tables and transaction control are refused before
    /// anything runs.
    ///
    /// - Parameter readOnly: Refuse every write.
    /// - Returns: The rows of the last statement that produced columns, and the rows changed.
    /// - Throws: ``WarehouseError/invalidRequest(_:)`` for a refused statement.
    func query(_ sql: String, readOnly: Bool) async throws(WarehouseError) -> QueryOutcome

    // MARK: Reading

    /// A load's row in load history, or `nil` for an unknown id.
    func loadSummary(_ id: Int64) async throws(WarehouseError) -> LoadSummary?

    /// ``loadSummary(_:)`` of several loads at once, by id (unknown ids are left out): one
    /// round trip for a batch of files where the backend can.
    func loadSummaries(_ ids: [Int64]) async throws(WarehouseError) -> [Int64: LoadSummary]

    /// Load history, newest first (by load id).
    func loadHistory(_ page: PageRequest) async throws(WarehouseError) -> Page<LoadSummary>

    /// Load history rows for one file name (or object key), oldest first.
    func loads(named name: String) async throws(WarehouseError) -> [LoadSummary]

    /// Rejected rows, newest first (by reject id), of one load or of all.
    func rejects(load: Int64?, _ page: PageRequest) async throws(WarehouseError) -> Page<RejectRecord>

    /// Every version of one key, oldest first (by start).
    func history(of key: Key, _ page: PageRequest) async throws(WarehouseError) -> Page<Version>

    /// One key's late records (``LateRecord``), in arrival order (load, then row).
    func lateRecords(of key: Key, _ page: PageRequest) async throws(WarehouseError) -> Page<LateRecord>

    /// The SCD1 table as it stood at `time`, from history: the version of each key in force
    /// then (`start <= time < end`), by key.
    func asOf(_ time: Timestamp, _ page: PageRequest) async throws(WarehouseError) -> Page<Version>

    /// Rows in the SCD1 table (live keys).
    func liveRowCount() async throws(WarehouseError) -> Int

    /// The newest successful load's id (0 when none).
    func latestLoadID() async throws(WarehouseError) -> Int64

    // MARK: The entity's shape

    /// Adds attributes to the entity's tables (staging, SCD1, history, the change log and its
    /// triggers) and records each in schema history with `file`, in one transaction; from then
    /// on ``entity`` has them, at the end of its attributes, as evolved ones
    /// (``EntityConfiguration/evolvedAttributes``). Existing versions hold NULL in them.
    ///
    /// Idempotent and safe against other writers: an attribute the entity already has (added
    /// by another process meanwhile, whatever its type) is left as it is, so the entity returned
    /// may differ from the one asked for. Chunks read before the change hold fewer attributes
    /// than the entity has: they are applied as NULL in the new ones.
    ///
    /// - Returns: The entity as it is now.
    /// - Throws: ``WarehouseError/invalidRequest(_:)`` for a name that cannot be a column.
    func addAttributes(_ columns: [Column], file: String) async throws(WarehouseError) -> EntityConfiguration

    /// Widens attributes' types so that a file's values fit (``ColumnType/widens(to:)``): each
    /// of `columns` names an attribute and a type its values need; the attribute gets the type
    /// both widen to (``ColumnType/joined(with:)``). Its values in every table (staging, SCD1,
    /// history, the change log) are converted as ``Value/widened(from:to:)`` says, and each
    /// change is recorded in schema history with `file`, in one transaction; from then on
    /// ``entity`` has the wider types (and ``EntityConfiguration/widenedAttributes`` the
    /// narrower ones).
    ///
    /// Idempotent and safe against other writers: an attribute already as wide (another
    /// process widened it meanwhile) is left as it is. Chunks read before the change are
    /// applied with their values converted the same way.
    ///
    /// - Returns: The entity as it is now.
    /// - Throws: ``WarehouseError/invalidRequest(_:)`` for a name that is not an attribute.
    func widenAttributes(_ columns: [Column], file: String) async throws(WarehouseError) -> EntityConfiguration

    /// The entity's schema history, oldest first.
    func schemaHistory() async throws(WarehouseError) -> [SchemaChange]
}

/// The rows a user's SQL returned and the rows it changed.
public struct QueryOutcome: Sendable, Hashable {
    /// The rows of the last statement that produced columns (empty otherwise).
    public var result: QueryResult
    /// Rows changed by the statements.
    public var changes: Int

    /// Creates an outcome.
    public init(result: QueryResult, changes: Int) {
        self.result = result
        self.changes = changes
    }
}

extension Warehouse {
    /// One ``unfinishedLoads(named:)`` per name, in turn.
    public func unfinishedLoads(named names: [String]) async throws(WarehouseError) -> [String: [UnfinishedLoad]] {
        var found: [String: [UnfinishedLoad]] = [:]
        for name in Set(names) { found[name] = try await unfinishedLoads(named: name) }
        return found
    }

    /// One ``loadSummary(_:)`` per id, in turn.
    public func loadSummaries(_ ids: [Int64]) async throws(WarehouseError) -> [Int64: LoadSummary] {
        var found: [Int64: LoadSummary] = [:]
        for id in Set(ids) { found[id] = try await loadSummary(id) }
        return found
    }

    /// Starts, resumes or skips loading a file's content (see
    /// ``beginLoad(_:continuing:)``), continuing no unfinished load.
    public func beginLoad(_ content: FileContent) async throws(WarehouseError) -> LoadStart {
        try await beginLoad(content, continuing: nil)
    }

    /// Applies one chunk (see ``applyChunk(_:_:finishing:warnings:)``) that is not the last.
    @discardableResult
    public func applyChunk(
        _ ticket: LoadTicket,
        _ chunk: consuming RecordChunk
    ) async throws(WarehouseError)
        -> ApplyCounts
    {
        try await applyChunk(ticket, chunk, finishing: false, warnings: [])
    }

    /// Applies one chunk (see ``applyChunk(_:_:finishing:warnings:)``) with no warnings.
    @discardableResult
    public func applyChunk(
        _ ticket: LoadTicket,
        _ chunk: consuming RecordChunk,
        finishing: Bool
    ) async throws(WarehouseError) -> ApplyCounts {
        try await applyChunk(ticket, chunk, finishing: finishing, warnings: [])
    }

    /// Applies the parts one transaction each.
    public func applyChunks(_ parts: consuming [ChunkApplication]) async throws(WarehouseError) -> BatchApplyCounts {
        var result = BatchApplyCounts(total: ApplyCounts(), parts: [])
        for part in parts {
            let counts = try await applyChunk(
                part.ticket,
                part.chunk,
                finishing: part.finishing,
                warnings: part.warnings
            )
            result.total += counts
            var own = ApplyCounts()
            own.staged = counts.staged
            own.versionsOpened = counts.versionsOpened
            own.versionsClosed = counts.versionsClosed
            own.lateRecords = counts.lateRecords
            result.parts.append(own)
        }
        return result
    }

    /// Begins each load in turn.
    public func beginLoads(
        _ contents: [(content: FileContent, continuing: UnfinishedLoad?)]
    ) async throws(WarehouseError) -> [LoadStart] {
        var starts: [LoadStart] = []
        for (content, continuing) in contents { starts.append(try await beginLoad(content, continuing: continuing)) }
        return starts
    }

    /// Marks a load finished, with no warnings.
    @discardableResult
    public func finishLoad(_ ticket: LoadTicket) async throws(WarehouseError) -> LoadSummary {
        try await finishLoad(ticket, warnings: [])
    }

    /// Runs SQL that may write (see ``query(_:readOnly:)``).
    public func query(_ sql: String) async throws(WarehouseError) -> QueryOutcome {
        try await query(sql, readOnly: false)
    }

    /// Every version of one key, oldest first, all pages.
    public func history(of key: Key) async throws(WarehouseError) -> [Version] {
        try await Self.allPages { (request) async throws(WarehouseError) in try await history(of: key, request) }
    }

    /// One key's late records, in arrival order, all pages.
    public func lateRecords(of key: Key) async throws(WarehouseError) -> [LateRecord] {
        try await Self.allPages { (request) async throws(WarehouseError) in try await lateRecords(of: key, request) }
    }

    /// The SCD1 table as it stood at `time`, all pages.
    public func asOf(_ time: Timestamp) async throws(WarehouseError) -> [Version] {
        try await Self.allPages { (request) async throws(WarehouseError) in try await asOf(time, request) }
    }

    /// Every item of a listing, read 10,000 at a time.
    private static func allPages<Item>(
        _ read: (PageRequest) async throws(WarehouseError) -> Page<Item>
    ) async throws(WarehouseError) -> [Item] {
        var items: [Item] = []
        var request = PageRequest.first(10_000)
        while true {
            let page = try await read(request)
            items += page.items
            guard let next = page.next else { return items }
            request.after = next
        }
    }
}

/// Task definitions, their state and run history, and the lease that lets one process at a
/// time run the scheduler.
public protocol TaskLedger: AnyObject, Sendable {
    /// Makes the task table hold exactly these definitions: new ones start `started`, existing
    /// ones keep their state, tasks no longer defined are removed. Run history is kept.
    func defineTasks(_ tasks: [TaskRecord]) async throws(WarehouseError)

    /// Every task, by name, with its latest run.
    func tasks() async throws(WarehouseError) -> [TaskRecord]

    /// Suspends or resumes a task. Resuming clears its failure count.
    ///
    /// - Throws: ``WarehouseError/invalidRequest(_:)`` when there is no such task.
    func setTaskState(_ name: String, suspended: Bool) async throws(WarehouseError)

    /// Records the start of a run attempt; returns its id.
    func beginTaskRun(_ task: String, trigger: String, attempt: Int) async throws(WarehouseError) -> Int64

    /// Records the end of a run attempt and updates the task's failure count (reset by a
    /// success; raised by a failed attempt that ends its run) and, on success, the newest load
    /// it has seen; returns the failed runs in a row.
    @discardableResult
    func finishTaskRun(
        _ run: Int64,
        task: String,
        succeeded: Bool,
        rowsAffected: Int,
        error: String?,
        seenLoadID: Int64?,
        endsRun: Bool
    ) async throws(WarehouseError) -> Int

    /// Marks runs left `running` by a process that died as failed.
    func abandonUnfinishedTaskRuns() async throws(WarehouseError)

    /// Runs a user task's SQL in one transaction, then takes any manual changes it made to the
    /// SCD1 table into history; returns the rows its statements changed.
    func runTaskSQL(_ sql: String) async throws(WarehouseError) -> Int

    /// Task runs, newest first (by run id), of one task or of all.
    func taskRuns(task: String?, _ page: PageRequest) async throws(WarehouseError) -> Page<TaskRun>

    /// Deletes staging rows and finished task runs older than `days` days; returns rows deleted.
    func prune(olderThanDays days: Int) async throws(WarehouseError) -> Int

    /// Takes, or renews, the lease named `name` for `holder` until `seconds` from now, when no
    /// one else holds it unexpired; returns whether `holder` holds it now. So one process at a
    /// time runs the scheduler, and another takes over within `seconds` of the holder dying.
    func acquireLease(_ name: String, holder: String, seconds: Double) async throws(WarehouseError) -> Bool

    /// Gives the lease up, if `holder` holds it.
    func releaseLease(_ name: String, holder: String) async throws(WarehouseError)

    /// Every lease, held or lapsed, by name.
    func leases() async throws(WarehouseError) -> [LeaseRecord]
}
