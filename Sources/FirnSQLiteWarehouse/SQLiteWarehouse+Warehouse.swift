import FirnCore
import FirnWarehouse

// The `Warehouse` API of the SQLite warehouse. Each method runs the synchronous method of the
// same name (the SQLite work, with its speed work, in the other files of this module) on a GCD
// thread, off Swift's cooperative pool, and resumes its caller when it is done. Inside those
// closures, which are synchronous, the names resolve to the synchronous methods.
//
// Cancelling the caller does not interrupt the work: a chunk being applied commits or rolls
// back whole either way (GRDB's own async API would interrupt the statement instead).

extension SQLiteWarehouse {
    /// Runs blocking SQLite work on a GCD thread and returns its result.
    func offPool<T: Sendable>(
        _ work: @escaping @Sendable () throws(WarehouseError) -> T
    ) async throws(WarehouseError) -> T {
        try await runBlocking(work)
    }

    /// Opens (creating if needed) a warehouse file, off the cooperative pool (see
    /// ``init(path:entity:configuration:)``).
    public static func open(
        path: String,
        entity: EntityConfiguration = .customer,
        configuration: SQLiteConfiguration = .init()
    ) async throws(WarehouseError) -> SQLiteWarehouse {
        try await runBlocking { () throws(WarehouseError) in
            try SQLiteWarehouse(path: path, entity: entity, configuration: configuration)
        }
    }

    // MARK: Loading

    public func beginLoad(
        _ content: FileContent,
        continuing: UnfinishedLoad?
    ) async throws(WarehouseError) -> LoadStart {
        try await offPool { () throws(WarehouseError) in try self.beginLoad(content, continuing: continuing) }
    }

    @discardableResult
    public func applyChunk(
        _ ticket: LoadTicket,
        _ chunk: consuming RecordChunk,
        finishing: Bool,
        warnings: [String]
    ) async throws(WarehouseError) -> ApplyCounts {
        // Handed over whole, so the records are not copied on the way.
        let handOver = HandOver(chunk)
        return try await offPool { () throws(WarehouseError) in
            try self.applyChunk(ticket, handOver.take(), finishing: finishing, warnings: warnings)
        }
    }

    public func applyChunks(_ parts: consuming [ChunkApplication]) async throws(WarehouseError) -> BatchApplyCounts {
        let handOver = HandOver(parts)
        return try await offPool { () throws(WarehouseError) in try self.applyChunks(handOver.take()) }
    }

    public func beginLoads(
        _ contents: [(content: FileContent, continuing: UnfinishedLoad?)]
    ) async throws(WarehouseError) -> [LoadStart] {
        try await offPool { () throws(WarehouseError) in try self.beginLoads(contents) }
    }

    @discardableResult
    public func finishLoad(_ ticket: LoadTicket, warnings: [String]) async throws(WarehouseError) -> LoadSummary {
        try await offPool { () throws(WarehouseError) in try self.finishLoad(ticket, warnings: warnings) }
    }

    @discardableResult
    public func recordFailure(_ content: FileContent, error: String) async throws(WarehouseError) -> LoadSummary {
        try await offPool { () throws(WarehouseError) in try self.recordFailure(content, error: error) }
    }

    public func unfinishedLoads(named name: String) async throws(WarehouseError) -> [UnfinishedLoad] {
        try await offPool { () throws(WarehouseError) in try self.unfinishedLoads(named: name) }
    }

    public func unfinishedLoads(named names: [String]) async throws(WarehouseError) -> [String: [UnfinishedLoad]] {
        try await offPool { () throws(WarehouseError) in try self.unfinishedLoads(named: names) }
    }

    // MARK: The stream and user SQL

    @discardableResult
    public func consumeStream() async throws(WarehouseError) -> StreamConsumption {
        try await offPool { () throws(WarehouseError) in try self.consumeStream() }
    }

    public func pendingStream() async throws(WarehouseError) -> StreamSnapshot {
        try await offPool { () throws(WarehouseError) in try self.pendingStream() }
    }

    public func streamHasData() async throws(WarehouseError) -> Bool {
        try await offPool { () throws(WarehouseError) in try self.streamHasData() }
    }

    public func query(_ sql: String, readOnly: Bool) async throws(WarehouseError) -> QueryOutcome {
        try await offPool { () throws(WarehouseError) in try self.query(sql, readOnly: readOnly) }
    }

    // MARK: Reading

    public func loadSummary(_ id: Int64) async throws(WarehouseError) -> LoadSummary? {
        try await offPool { () throws(WarehouseError) in try self.loadSummary(id) }
    }

    public func loadSummaries(_ ids: [Int64]) async throws(WarehouseError) -> [Int64: LoadSummary] {
        try await offPool { () throws(WarehouseError) in try self.loadSummaries(ids) }
    }

    public func loadHistory(_ page: PageRequest) async throws(WarehouseError) -> Page<LoadSummary> {
        try await offPool { () throws(WarehouseError) in try self.loadHistory(page) }
    }

    public func loads(named name: String) async throws(WarehouseError) -> [LoadSummary] {
        try await offPool { () throws(WarehouseError) in try self.loads(named: name) }
    }

    public func rejects(load: Int64?, _ page: PageRequest) async throws(WarehouseError) -> Page<RejectRecord> {
        try await offPool { () throws(WarehouseError) in try self.rejects(load: load, page) }
    }

    public func history(of key: Key, _ page: PageRequest) async throws(WarehouseError) -> Page<Version> {
        try await offPool { () throws(WarehouseError) in try self.history(of: key, page) }
    }

    public func lateRecords(of key: Key, _ page: PageRequest) async throws(WarehouseError) -> Page<LateRecord> {
        try await offPool { () throws(WarehouseError) in try self.lateRecords(of: key, page) }
    }

    public func asOf(_ time: Timestamp, _ page: PageRequest) async throws(WarehouseError) -> Page<Version> {
        try await offPool { () throws(WarehouseError) in try self.asOf(time, page) }
    }

    public func liveRowCount() async throws(WarehouseError) -> Int {
        try await offPool { () throws(WarehouseError) in try self.liveRowCount() }
    }

    public func latestLoadID() async throws(WarehouseError) -> Int64 {
        try await offPool { () throws(WarehouseError) in try self.latestLoadID() }
    }

    // MARK: The entity's shape

    public func addAttributes(_ columns: [Column], file: String) async throws(WarehouseError) -> EntityConfiguration {
        try await offPool { () throws(WarehouseError) in try self.addAttributes(columns, file: file) }
    }

    public func widenAttributes(_ columns: [Column], file: String) async throws(WarehouseError) -> EntityConfiguration {
        try await offPool { () throws(WarehouseError) in try self.widenAttributes(columns, file: file) }
    }

    public func schemaHistory() async throws(WarehouseError) -> [SchemaChange] {
        try await offPool { () throws(WarehouseError) in try self.schemaHistory() }
    }

    // MARK: PipeLedger

    public func takenPipeObjects(after: String?) async throws(WarehouseError) -> Set<String> {
        try await offPool { () throws(WarehouseError) in try self.takenPipeObjects(after: after) }
    }

    public func hasTakenPipeObject(key: String, etag: String) async throws(WarehouseError) -> Bool {
        try await offPool { () throws(WarehouseError) in try self.hasTakenPipeObject(key: key, etag: etag) }
    }

    public func takenPipeObjects(
        among objects: [(key: String, etag: String)]
    ) async throws(WarehouseError) -> Set<String> {
        try await offPool { () throws(WarehouseError) in try self.takenPipeObjects(among: objects) }
    }

    public func recordPipeObject(
        key: String,
        etag: String,
        sizeBytes: Int64,
        loadID: Int64?,
        status: String
    ) async throws(WarehouseError) {
        try await offPool { () throws(WarehouseError) in
            try self.recordPipeObject(key: key, etag: etag, sizeBytes: sizeBytes, loadID: loadID, status: status)
        }
    }

    public func recordPipeObjects(_ objects: [PipeObjectTaken]) async throws(WarehouseError) {
        try await offPool { () throws(WarehouseError) in try self.recordPipeObjects(objects) }
    }

    public func pipeObjects(_ page: PageRequest) async throws(WarehouseError) -> Page<PipeObject> {
        try await offPool { () throws(WarehouseError) in try self.pipeObjects(page) }
    }

    // MARK: TaskLedger

    public func defineTasks(_ tasks: [TaskRecord]) async throws(WarehouseError) {
        try await offPool { () throws(WarehouseError) in try self.defineTasks(tasks) }
    }

    public func tasks() async throws(WarehouseError) -> [TaskRecord] {
        try await offPool { () throws(WarehouseError) in try self.tasks() }
    }

    public func setTaskState(_ name: String, suspended: Bool) async throws(WarehouseError) {
        try await offPool { () throws(WarehouseError) in try self.setTaskState(name, suspended: suspended) }
    }

    public func beginTaskRun(_ task: String, trigger: String, attempt: Int) async throws(WarehouseError) -> Int64 {
        try await offPool { () throws(WarehouseError) in try self.beginTaskRun(task, trigger: trigger, attempt: attempt)
        }
    }

    @discardableResult
    public func finishTaskRun(
        _ run: Int64,
        task: String,
        succeeded: Bool,
        rowsAffected: Int,
        error: String?,
        seenLoadID: Int64?,
        endsRun: Bool
    ) async throws(WarehouseError) -> Int {
        try await offPool { () throws(WarehouseError) in
            try self.finishTaskRun(
                run,
                task: task,
                succeeded: succeeded,
                rowsAffected: rowsAffected,
                error: error,
                seenLoadID: seenLoadID,
                endsRun: endsRun
            )
        }
    }

    public func abandonUnfinishedTaskRuns() async throws(WarehouseError) {
        try await offPool { () throws(WarehouseError) in try self.abandonUnfinishedTaskRuns() }
    }

    public func runTaskSQL(_ sql: String) async throws(WarehouseError) -> Int {
        try await offPool { () throws(WarehouseError) in try self.runTaskSQL(sql) }
    }

    public func taskRuns(task: String?, _ page: PageRequest) async throws(WarehouseError) -> Page<TaskRun> {
        try await offPool { () throws(WarehouseError) in try self.taskRuns(task: task, page) }
    }

    public func prune(olderThanDays days: Int) async throws(WarehouseError) -> Int {
        try await offPool { () throws(WarehouseError) in try self.prune(olderThanDays: days) }
    }

    public func acquireLease(_ name: String, holder: String, seconds: Double) async throws(WarehouseError) -> Bool {
        try await offPool { () throws(WarehouseError) in try self.acquireLease(name, holder: holder, seconds: seconds) }
    }

    public func releaseLease(_ name: String, holder: String) async throws(WarehouseError) {
        try await offPool { () throws(WarehouseError) in try self.releaseLease(name, holder: holder) }
    }
}

/// A value (a chunk, or a batch's parts) handed to the thread that applies it, taken out
/// exactly once.
///
/// `@unchecked Sendable`: the caller stops using it once it is handed over, and one thread
/// takes it.
final class HandOver<Value>: @unchecked Sendable {
    private var value: Value?

    init(_ value: consuming Value) {
        self.value = value
    }

    /// The value, moved out (so its records are not copied).
    func take() -> Value {
        value.take()!
    }
}
