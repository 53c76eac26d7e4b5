import FirnCore

/// A task as the warehouse stores it: its definition (for `firn task list`) and its state.
public struct TaskRecord: Sendable, Hashable {
    /// The task's name.
    public var name: String
    /// `builtin` or `sql`.
    public var kind: String
    /// How it is triggered, as text (`schedule 1 minute`, `on data`, `after a, b`…).
    public var trigger: String
    /// The SQL it runs (user tasks) or what it does (built-in tasks).
    public var body: String
    /// `started` or `suspended`.
    public var state: String
    /// Failed runs in a row (reset by a success).
    public var consecutiveFailures: Int
    /// The newest load the task has seen (for `when: new_loads`).
    public var seenLoadID: Int64
    /// When its latest run started, as stored (`nil` before its first run).
    public var lastRunAt: String?
    /// How its latest run ended (`running`, `succeeded`, `failed`).
    public var lastStatus: String?

    /// Creates a record.
    public init(name: String, kind: String, trigger: String, body: String) {
        self.name = name
        self.kind = kind
        self.trigger = trigger
        self.body = body
        self.state = "started"
        self.consecutiveFailures = 0
        self.seenLoadID = 0
    }
}

/// One attempt of a task run, as task history shows it.
public struct TaskRun: Sendable, Hashable {
    /// The run's id, in the order runs started.
    public var id: Int64
    /// The task.
    public var task: String
    /// What started it (`schedule`, `manual`, `after load`…).
    public var trigger: String
    /// The attempt number (1, then retries).
    public var attempt: Int
    /// When it started, as stored.
    public var startedAt: String
    /// When it ended, as stored.
    public var finishedAt: String?
    /// `running`, `succeeded` or `failed`.
    public var status: String
    /// Rows its statements changed.
    public var rowsAffected: Int
    /// Why it failed.
    public var error: String?

    /// Creates a run record.
    public init(
        id: Int64,
        task: String,
        trigger: String,
        attempt: Int,
        startedAt: String,
        finishedAt: String?,
        status: String,
        rowsAffected: Int,
        error: String?
    ) {
        self.id = id
        self.task = task
        self.trigger = trigger
        self.attempt = attempt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.rowsAffected = rowsAffected
        self.error = error
    }
}
