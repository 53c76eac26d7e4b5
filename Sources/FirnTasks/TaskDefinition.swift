import Foundation

/// One task: what starts it, what must hold, and what it does (Snowflake's CREATE TASK).
///
/// Two tasks are built in: `load` (the pipe: staging, SCD1 and SCD2 in one transaction per
/// chunk, on data by default) and `retention` (hourly clean-up). Every other task runs SQL.
public struct TaskDefinition: Sendable, Hashable {
    /// What starts a run.
    public enum Trigger: Sendable, Hashable, CustomStringConvertible {
        /// On a schedule: an interval or a cron expression with time zone.
        case schedule(Schedule)
        /// As soon as the task's input has data (its `when` condition holds), checked on every
        /// load commit and every scheduler tick.
        case onData
        /// After every predecessor has succeeded (a task graph).
        case after([String])

        public var description: String {
            switch self {
            case .schedule(let schedule): "schedule \(schedule)"
            case .onData: "on data"
            case .after(let names): "after \(names.joined(separator: ", "))"
            }
        }
    }

    /// What must hold for a triggered run to go ahead (Snowflake's `WHEN`).
    public enum Condition: String, Sendable, Hashable {
        /// Always run.
        case always
        /// A load committed since the task last succeeded.
        case newLoads = "new_loads"
        /// The entity's stream has changes not yet consumed (`SYSTEM$STREAM_HAS_DATA`).
        case streamHasData = "stream_has_data"
    }

    /// What a run does.
    public enum Action: Sendable, Hashable {
        /// The pipe's load (staging → SCD1 → SCD2).
        case load
        /// Deletes what is older than the given days: staging rows, task runs, and files archived
        /// that long ago (counted from their archiving, not their modification time).
        case retention(days: Int)
        /// User SQL, run in one transaction.
        case sql(String)
    }

    /// The name (unique).
    public var name: String
    /// What starts a run.
    public var trigger: Trigger
    /// What must hold. Defaults to ``Condition/always`` (``Condition/newLoads`` for on-data tasks).
    public var condition: Condition
    /// What it does.
    public var action: Action
    /// Retries within one run after a failure (1 s, then 2 s, 4 s… apart). Defaults to `2`.
    public var retries: Int = 2
    /// Failed runs in a row after which the task is suspended. Defaults to `3`.
    public var suspendAfterFailures: Int = 3
    /// The entity the task is about, when a config lists several: `when: stream_has_data`
    /// reads its stream, and its SQL runs in its warehouse (every entity's tables are in the
    /// same database, so SQL may name any of them). Defaults to `nil`: the first entity.
    public var entity: String?

    /// Creates a definition.
    public init(name: String, trigger: Trigger, condition: Condition = .always, action: Action) {
        self.name = name
        self.trigger = trigger
        self.condition = condition
        self.action = action
    }

    /// The built-in `load` task: on data.
    public static let load = TaskDefinition(name: "load", trigger: .onData, action: .load)

    /// The built-in `retention` task: hourly, keeping 7 days.
    public static let retention = TaskDefinition(
        name: "retention",
        trigger: .schedule(.interval(.seconds(3600))),
        action: .retention(days: 7)
    )

    /// Checks a set of definitions: unique names, predecessors that exist, no cycles, built-in
    /// names used only for the built-in actions.
    ///
    /// - Throws: ``TaskError/invalidDefinition(_:)`` naming the task and the problem.
    public static func validate(_ tasks: [TaskDefinition]) throws(TaskError) {
        var byName: [String: TaskDefinition] = [:]
        for task in tasks {
            guard !task.name.isEmpty, task.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
            else {
                throw .invalidDefinition("task name \(task.name.debugDescription): use letters, digits, _ and -")
            }
            guard byName.updateValue(task, forKey: task.name) == nil else {
                throw .invalidDefinition("task \(task.name) is defined twice")
            }
            switch task.action {
            case .load where task.name != "load", .retention where task.name != "retention":
                throw .invalidDefinition("task \(task.name): only the built-in task may run this step")
            case .sql where task.name == "load" || task.name == "retention":
                throw .invalidDefinition("task \(task.name) is built in; give your SQL task another name")
            default: break
            }
            if case .sql(let sql) = task.action, sql.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw .invalidDefinition("task \(task.name) has no SQL")
            }
            if task.trigger == .onData, task.condition == .always, case .sql = task.action {
                throw .invalidDefinition(
                    "task \(task.name) runs on data, so it needs when: new_loads or when: stream_has_data"
                )
            }
            guard task.retries >= 0, task.suspendAfterFailures >= 1 else {
                throw .invalidDefinition("task \(task.name): retries must be ≥ 0 and suspend_after_failures ≥ 1")
            }
        }
        for task in tasks {
            if case .after(let names) = task.trigger {
                guard !names.isEmpty else { throw .invalidDefinition("task \(task.name): after needs a task name") }
                for name in names where byName[name] == nil {
                    throw .invalidDefinition("task \(task.name) runs after \(name), which is not defined")
                }
            }
        }
        // Cycles: depth-first over `after` edges.
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        func visit(_ name: String, _ path: [String]) throws(TaskError) {
            if state[name] == 2 { return }
            if state[name] == 1 {
                throw .invalidDefinition("tasks form a cycle: \((path + [name]).joined(separator: " → "))")
            }
            state[name] = 1
            if case .after(let names)? = byName[name]?.trigger {
                for predecessor in names { try visit(predecessor, path + [name]) }
            }
            state[name] = 2
        }
        for task in tasks { try visit(task.name, []) }
    }

    /// The definition as the warehouse stores it, for `firn task list`.
    public var record: (kind: String, trigger: String, body: String) {
        var trigger = self.trigger.description
        if condition != .always { trigger += " when \(condition.rawValue)" }
        switch action {
        case .load: return ("builtin", trigger, "load new bucket objects into staging, SCD1 and SCD2")
        case .retention(let days):
            return ("builtin", trigger, "delete staging rows, archived files and task runs older than \(days) days")
        case .sql(let sql): return ("sql", trigger, sql)
        }
    }
}

/// Why a task definition or run was refused.
public enum TaskError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A definition is invalid.
    case invalidDefinition(String)
    /// No task has this name.
    case unknownTask(String)

    public var description: String {
        switch self {
        case .invalidDefinition(let message): "invalid task: \(message)"
        case .unknownTask(let name): "no task named \(name.debugDescription) (see `firn task list`)"
        }
    }
}
