import FirnCore
import FirnMetrics
import FirnPipe
import FirnWarehouse
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// How the scheduler behaves.
public struct SchedulerConfiguration: Sendable, Hashable {
    /// How often due schedules and on-data conditions are checked. Defaults to 250 ms.
    public var tick: Duration = .milliseconds(250)
    /// The archive folder the `retention` task cleans. Defaults to `nil` (no files removed).
    public var archiveDirectory: String?
    /// How long the scheduler lease lasts without renewal: when the process holding it dies,
    /// another takes over within this time. Renewed every third of it. Defaults to 15 s.
    public var lease: Duration = .seconds(15)
    /// This process, as it holds the lease. Defaults to ``WorkerIdentity/current``.
    public var worker = WorkerIdentity.current

    /// Creates the defaults.
    public init() {}
}

/// The task scheduler (Snowflake Tasks): runs each task on its schedule, on data, or after its
/// predecessors, never two runs of one task at once, with retries and suspension.
///
/// Contract:
/// - A run of a SQL task executes its statements in one transaction; its attempts, each with
///   start, end, status, rows affected and error, are in `firn_task_runs`.
/// - A run that still fails after ``TaskDefinition/retries`` retries counts as a failure; after
///   ``TaskDefinition/suspendAfterFailures`` failures in a row the task is suspended (state kept
///   in `firn_tasks`, so it stays suspended after a restart) until `firn task resume`.
/// - A scheduled run that comes due while the previous one is still running is skipped, not
///   queued; the next is computed from the time the check happened.
/// - The built-in `load` task on data is the pipe itself (its runs are the loads in
///   `firn copy-history`); each load commit counts as a successful `load` run for tasks that
///   run `after: [load]`. On a schedule, the pipe loads only when the task runs.
/// - Several processes may run a scheduler on one warehouse: only the one holding the
///   warehouse's `scheduler` lease (``TaskLedger/acquireLease(_:holder:seconds:)``) starts
///   runs, so each scheduled run happens once; when it dies, another takes the lease over within
///   ``SchedulerConfiguration/lease`` and first marks the runs the dead one left `running` failed.
public final class TaskScheduler: Service, Sendable {
    /// The task definitions.
    public let tasks: [TaskDefinition]
    /// The warehouse the tasks run in (the first entity's when there are several): it keeps
    /// the task ledger and the lease.
    public var warehouse: any Warehouse { warehouses[0] }
    /// Every entity's warehouse, the first being ``warehouse``: `retention` prunes each one's
    /// staging, and `stream_has_data` reads the stream of the task's entity.
    public let warehouses: [any Warehouse]
    /// The pipe the `load` task controls, if the pipe runs in this process.
    public let pipe: AutoIngestPipe?
    /// Settings.
    public let configuration: SchedulerConfiguration
    let logger: Logger
    let wakeups: AsyncStream<Event>
    let continuation: AsyncStream<Event>.Continuation

    enum Event: Sendable {
        case tick
        case loaded
        case finished(String, succeeded: Bool)
    }

    /// Creates a scheduler.
    ///
    /// - Throws: ``TaskError`` when the definitions are invalid.
    public convenience init(
        tasks: [TaskDefinition],
        warehouse: any Warehouse,
        pipe: AutoIngestPipe?,
        configuration: SchedulerConfiguration = .init(),
        logger: Logger = Logger(label: "firn.tasks")
    ) throws(TaskError) {
        try self.init(tasks: tasks, warehouses: [warehouse], pipe: pipe, configuration: configuration, logger: logger)
    }

    /// Creates a scheduler for several entities' warehouses on one database (the first keeps
    /// the ledger).
    ///
    /// - Throws: ``TaskError`` when the definitions are invalid, or a task names an entity
    ///   none of the warehouses keeps.
    public init(
        tasks: [TaskDefinition],
        warehouses: [any Warehouse],
        pipe: AutoIngestPipe?,
        configuration: SchedulerConfiguration = .init(),
        logger: Logger = Logger(label: "firn.tasks")
    ) throws(TaskError) {
        precondition(!warehouses.isEmpty, "a scheduler needs a warehouse")
        try TaskDefinition.validate(tasks)
        for task in tasks {
            guard let name = task.entity else { continue }
            guard Self.warehouse(named: name, in: warehouses) != nil else {
                let names = warehouses.map(\.entity.name.normalized).joined(separator: ", ")
                throw .invalidDefinition("task \(task.name) is about entity \(name), which is not among \(names)")
            }
        }
        self.tasks = tasks
        self.warehouses = warehouses
        self.pipe = pipe
        self.configuration = configuration
        self.logger = logger
        (wakeups, continuation) = AsyncStream<Event>.makeStream()
    }

    /// Tells the scheduler a load committed: on-data tasks check their condition at once, and
    /// tasks after `load` run.
    public func noteLoadCommitted() {
        continuation.yield(.loaded)
    }

    /// Stores the definitions in `firn_tasks` (keeping suspended tasks suspended).
    public func register() async throws(WarehouseError) {
        try await warehouse.defineTasks(
            tasks.map { task in
                let record = task.record
                return TaskRecord(name: task.name, kind: record.kind, trigger: record.trigger, body: record.body)
            }
        )
    }

    /// Runs tasks until cancelled or shut down gracefully (runs in progress finish first).
    public func run() async throws {
        try await register()
        let lease = SchedulerLease(warehouse: warehouse, duration: configuration.lease, holder: configuration.worker.id)
        let continuation = self.continuation
        let tick = configuration.tick
        var nextDue: [String: Date] = [:]
        let now = Date()
        for task in tasks {
            if case .schedule(let schedule) = task.trigger { nextDue[task.name] = schedule.nextRun(after: now) }
        }
        let loadIsOnData = tasks.contains { task in
            if case .load = task.action, case .onData = task.trigger { return true }
            return false
        }
        let stopped = NIOLockedValueBox(false)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { runs in
                runs.addTask {
                    while !Task.isCancelled && !stopped.withLockedValue({ $0 }) {
                        try? await Task.sleep(for: tick)
                        continuation.yield(.tick)
                    }
                }
                var running: Set<String> = []
                // Predecessors that succeeded since each graph task last ran.
                var satisfied: [String: Set<String>] = [:]
                // Graph tasks whose predecessors all succeeded while they were still running:
                // they run again as soon as they finish, so no trigger is lost.
                var pending: [String: String] = [:]
                for await event in wakeups {
                    var ready: [(TaskDefinition, String)] = []
                    var succeeded: String?
                    switch event {
                    case .tick: break
                    case .loaded: if loadIsOnData { succeeded = "load" }
                    case .finished(let name, let ok):
                        running.remove(name)
                        if ok { succeeded = name }
                        if let trigger = pending.removeValue(forKey: name),
                            let task = tasks.first(where: { $0.name == name })
                        {
                            ready.append((task, trigger))
                        }
                    }
                    guard let states = try? await warehouse.tasks() else { continue }  // warehouse busy: next tick
                    let suspended = Set(states.filter { $0.state == "suspended" }.map(\.name))
                    pipe?.setSuspended(suspended.contains("load"))
                    if let succeeded {
                        for task in tasks {
                            guard case .after(let names) = task.trigger, names.contains(succeeded) else { continue }
                            satisfied[task.name, default: []].insert(succeeded)
                            if satisfied[task.name] == Set(names) {
                                satisfied[task.name] = []
                                if running.contains(task.name) {
                                    pending[task.name] = "after \(succeeded)"
                                } else {
                                    ready.append((task, "after \(succeeded)"))
                                }
                            }
                        }
                    }
                    let date = Date()
                    for task in tasks {
                        switch task.trigger {
                        case .schedule(let schedule):
                            if let due = nextDue[task.name], date >= due {
                                nextDue[task.name] = schedule.nextRun(after: date)
                                ready.append((task, "schedule"))
                            }
                        case .onData where task.action != .load:
                            ready.append((task, "on data"))
                        default: break
                        }
                    }
                    // Another process holds the lease: it runs the tasks (this one takes over if it dies).
                    guard await lease.isHeld() else { continue }
                    let seen = Dictionary(states.map { ($0.name, $0.seenLoadID) }, uniquingKeysWith: { a, _ in a })
                    for (task, trigger) in ready where !running.contains(task.name) && !suspended.contains(task.name) {
                        guard let latestLoad = await conditionHolds(task, seenLoadID: seen[task.name] ?? 0) else {
                            continue
                        }
                        running.insert(task.name)
                        runs.addTask {
                            let ok = await self.execute(task, trigger: trigger, latestLoad: latestLoad)
                            continuation.yield(.finished(task.name, succeeded: ok))
                        }
                    }
                }
                // Shut down: the ticker stops within a tick; runs in progress finish.
                stopped.withLockedValue { $0 = true }
                await runs.waitForAll()
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
        await lease.release()
    }

    /// Whether the task's `when` holds; returns the newest load id seen (0 when not relevant),
    /// or `nil` when the run should not go ahead.
    func conditionHolds(_ task: TaskDefinition, seenLoadID: Int64) async -> Int64?? {
        switch task.condition {
        case .always:
            return .some(nil)
        case .newLoads:
            guard let latest = try? await warehouse.latestLoadID(), latest > seenLoadID else { return nil }
            return .some(latest)
        case .streamHasData:
            return (try? await warehouse(of: task).streamHasData()) == true ? .some(nil) : nil
        }
    }

    /// Runs one task now, whatever its trigger and condition (`firn task run`), with its
    /// retries; returns whether it succeeded. A suspended task runs too: running it by hand is
    /// how one checks a fix before `firn task resume`.
    ///
    /// - Throws: ``TaskError/unknownTask(_:)``.
    public func runNow(_ name: String) async throws(TaskError) -> Bool {
        guard let task = tasks.first(where: { $0.name == name }) else { throw .unknownTask(name) }
        let latest = task.condition == .newLoads ? try? await warehouse.latestLoadID() : nil
        return await execute(task, trigger: "manual", latestLoad: latest)
    }

    /// One run with its retries; returns whether it succeeded.
    func execute(_ task: TaskDefinition, trigger: String, latestLoad: Int64?) async -> Bool {
        var lastError = ""
        for attempt in 1...(task.retries + 1) {
            if attempt > 1 {
                let delay = Duration.seconds(1 << min(attempt - 2, 5))
                do { try await Task.sleep(for: delay) } catch { break }
            }
            do {
                let run = try await warehouse.beginTaskRun(task.name, trigger: trigger, attempt: attempt)
                let outcome = await perform(task)
                let failures = try await warehouse.finishTaskRun(
                    run,
                    task: task.name,
                    succeeded: outcome.error == nil,
                    rowsAffected: outcome.rows,
                    error: outcome.error,
                    seenLoadID: outcome.error == nil ? latestLoad : nil,
                    endsRun: attempt == task.retries + 1
                )
                FirnMetrics.taskRunEnded(succeeded: outcome.error == nil)
                guard let error = outcome.error else { return true }
                lastError = error
                logger.warning("task \(task.name) attempt \(attempt) failed: \(error)")
                if attempt == task.retries + 1 && failures >= task.suspendAfterFailures {
                    try await warehouse.setTaskState(task.name, suspended: true)
                    logger.error(
                        "task \(task.name) suspended after \(failures) failed runs in a row (last error: \(lastError)); `firn task resume \(task.name)` after fixing it"
                    )
                }
            } catch {
                logger.error("task \(task.name): cannot record its run: \(error)")
                return false
            }
        }
        return false
    }

    /// Does the task's work once: rows affected, or the error.
    func perform(_ task: TaskDefinition) async -> (rows: Int, error: String?) {
        switch task.action {
        case .load:
            guard let pipe else { return (0, "the pipe does not run in this process") }
            let result = await pipe.loadNow()
            return (Int(result.rows), result.errors.isEmpty ? nil : result.errors.joined(separator: "; "))
        case .retention(let days):
            do {
                var rows = 0
                for warehouse in warehouses { rows += try await warehouse.prune(olderThanDays: days) }
                if let archive = configuration.archiveDirectory {
                    rows += await runBlocking { Self.removeFiles(in: archive, olderThanDays: days) }
                }
                return (rows, nil)
            } catch {
                return (0, "\(error)")
            }
        case .sql(let sql):
            let home = warehouse(of: task)
            let rows: Int
            do { rows = try await home.runTaskSQL(sql) } catch { return (0, "\(error)") }
            // Its DML may have changed other entities' tables too (SQL sees them all): their
            // streams are consumed as `firn query` consumes them.
            if rows > 0, warehouses.count > 1 {
                for other in warehouses where other.entity.name != home.entity.name {
                    do {
                        _ = try await other.consumeStream()
                    } catch {
                        return (rows, "the SQL ran, but consuming \(other.entity.name)'s stream failed: \(error)")
                    }
                }
            }
            return (rows, nil)
        }
    }

    /// The warehouse of the task's entity (``TaskDefinition/entity``), else the first.
    func warehouse(of task: TaskDefinition) -> any Warehouse {
        task.entity.flatMap { Self.warehouse(named: $0, in: warehouses) } ?? warehouse
    }

    /// The warehouse of the entity named `name` (case-insensitively), if one is given.
    static func warehouse(named name: String, in warehouses: [any Warehouse]) -> (any Warehouse)? {
        warehouses.first { $0.entity.name.normalized == name.lowercased() }
    }

    /// Removes archived files older than `days` under `directory`; returns how many.
    ///
    /// A file's age counts from when it was archived, not from when it was written: ingest
    /// archives into `YYYY/MM/DD` folders of the UTC archive date, so a file in such a folder
    /// is removed once the end of that day is more than `days` ago (and its modification time
    /// too, should it be later). A 30-day-old export landed today stays its full `days`. Files
    /// outside date folders are aged by their modification time. Date folders left empty are
    /// removed.
    static func removeFiles(in directory: String, olderThanDays days: Int) -> Int {
        let cutoff = Date().addingTimeInterval(-Double(days) * 86_400)
        var removed = 0
        var emptied: Set<String> = []
        let manager = FileManager.default
        guard let names = manager.enumerator(atPath: directory) else { return 0 }
        while let name = names.nextObject() as? String {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let attributes = try? manager.attributesOfItem(atPath: path),
                attributes[.type] as? FileAttributeType == .typeRegular,
                let modified = attributes[.modificationDate] as? Date
            else { continue }
            let archived = archiveDayEnd(relativePath: name).map { max($0, modified) } ?? modified
            guard archived < cutoff else { continue }
            if (try? manager.removeItem(atPath: path)) != nil {
                removed += 1
                emptied.insert((name as NSString).deletingLastPathComponent)
            }
        }
        // Deepest first: a landing sub-folder's (`YYYY/MM/DD/customers`), then `YYYY/MM/DD`,
        // `YYYY/MM` and `YYYY`, each only when empty.
        for folder in emptied where archiveDayEnd(relativePath: folder + "/x") != nil {
            var relative = folder
            for _ in 0..<folder.split(separator: "/").count {
                let path = (directory as NSString).appendingPathComponent(relative)
                guard (try? manager.contentsOfDirectory(atPath: path).isEmpty) == true,
                    (try? manager.removeItem(atPath: path)) != nil
                else { break }
                relative = (relative as NSString).deletingLastPathComponent
            }
        }
        return removed
    }

    /// The end (next midnight, UTC) of the day a path `YYYY/MM/DD/…` names, or `nil` when the
    /// path does not start with a valid date folder.
    static func archiveDayEnd(relativePath path: String) -> Date? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day)
        guard components.isValidDate(in: calendar), let start = calendar.date(from: components) else { return nil }
        return calendar.date(byAdding: .day, value: 1, to: start)
    }
}
