import FirnCore
import GRDB

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

extension SQLiteWarehouse {
    /// Makes `firn_tasks` hold exactly these definitions: new ones start `started`, existing
    /// ones keep their state (a suspended task stays suspended across restarts), and tasks no
    /// longer defined are removed. Run history is kept.
    ///
    /// - Throws: ``WarehouseError``.
    public func defineTasks(_ tasks: [TaskRecord]) throws(WarehouseError) {
        try write { db in
            let names = tasks.map(\.name)
            try db.execute(
                sql: "DELETE FROM firn_tasks WHERE name NOT IN (\(names.map { _ in "?" }.joined(separator: ",")))",
                arguments: StatementArguments(names)
            )
            for task in tasks {
                try db.execute(
                    sql: """
                        INSERT INTO firn_tasks (name, kind, task_trigger, body, state, consecutive_failures,
                            seen_load_id, updated_at)
                        VALUES (?, ?, ?, ?, 'started', 0, 0, ?)
                        ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, task_trigger = excluded.task_trigger,
                            body = excluded.body
                        """,
                    arguments: [task.name, task.kind, task.trigger, task.body, Timestamp.now().description]
                )
            }
        }
    }

    /// Every task, by name.
    ///
    /// - Throws: ``WarehouseError``.
    public func tasks() throws(WarehouseError) -> [TaskRecord] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT name, kind, task_trigger, body, state, consecutive_failures, seen_load_id
                    FROM firn_tasks ORDER BY name
                    """
            ).map { row in
                var record = TaskRecord(name: row[0], kind: row[1], trigger: row[2], body: row[3])
                record.state = row[4]
                record.consecutiveFailures = row[5]
                record.seenLoadID = row[6]
                return record
            }
        }
    }

    /// Suspends or resumes a task. Resuming clears its failure count.
    ///
    /// - Throws: ``WarehouseError/invalidRequest(_:)`` when there is no such task.
    public func setTaskState(_ name: String, suspended: Bool) throws(WarehouseError) {
        let found = try write { db -> Bool in
            try db.execute(
                sql: """
                    UPDATE firn_tasks SET state = ?, updated_at = ?,
                        consecutive_failures = CASE WHEN ? THEN consecutive_failures ELSE 0 END
                    WHERE name = ?
                    """,
                arguments: [suspended ? "suspended" : "started", Timestamp.now().description, suspended, name]
            )
            return db.changesCount > 0
        }
        if !found { throw .invalidRequest("no task named \(name.debugDescription) (see `firn task list`)") }
    }

    /// Records the start of a run; returns its id.
    ///
    /// - Throws: ``WarehouseError``.
    public func beginTaskRun(_ task: String, trigger: String, attempt: Int) throws(WarehouseError) -> Int64 {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO firn_task_runs (task, run_trigger, attempt, started_at, status, rows_affected)
                    VALUES (?, ?, ?, ?, 'running', 0)
                    """,
                arguments: [task, trigger, attempt, Timestamp.now().description]
            )
            return db.lastInsertedRowID
        }
    }

    /// Records the end of a run attempt and updates the task's failure count (reset by a
    /// success; raised by a failed attempt that ends its run, i.e. its last retry) and, on
    /// success, the newest load it has seen; returns the failed runs in a row.
    ///
    /// - Throws: ``WarehouseError``.
    @discardableResult
    public func finishTaskRun(
        _ run: Int64,
        task: String,
        succeeded: Bool,
        rowsAffected: Int,
        error: String?,
        seenLoadID: Int64?,
        endsRun: Bool = true
    ) throws(WarehouseError) -> Int {
        try write { db in
            try db.execute(
                sql: """
                    UPDATE firn_task_runs SET finished_at = ?, status = ?, rows_affected = ?, error = ?
                    WHERE run_id = ?
                    """,
                arguments: [Timestamp.now().description, succeeded ? "succeeded" : "failed", rowsAffected, error, run]
            )
            if succeeded {
                try db.execute(
                    sql: """
                        UPDATE firn_tasks SET consecutive_failures = 0,
                            seen_load_id = max(seen_load_id, COALESCE(?, seen_load_id))
                        WHERE name = ?
                        """,
                    arguments: [seenLoadID, task]
                )
            } else if endsRun {
                try db.execute(
                    sql: "UPDATE firn_tasks SET consecutive_failures = consecutive_failures + 1 WHERE name = ?",
                    arguments: [task]
                )
            }
            return try Int.fetchOne(
                db,
                sql: "SELECT consecutive_failures FROM firn_tasks WHERE name = ?",
                arguments: [task]
            ) ?? 0
        }
    }

    /// Marks runs left `running` by a process that died as failed (call at start).
    ///
    /// - Throws: ``WarehouseError``.
    public func abandonUnfinishedTaskRuns() throws(WarehouseError) {
        try write { db in
            try db.execute(
                sql: """
                    UPDATE firn_task_runs SET status = 'failed', finished_at = ?,
                        error = 'interrupted: the process stopped during the run'
                    WHERE status = 'running'
                    """,
                arguments: [Timestamp.now().description]
            )
        }
    }

    /// Runs a user task's SQL in one transaction (all statements commit together or none), then
    /// takes any manual changes it made to the SCD1 table into history, as `firn query` does.
    ///
    /// - Returns: Rows changed by the statements.
    /// - Throws: ``WarehouseError``; nothing is committed then.
    public func runTaskSQL(_ sql: String) throws(WarehouseError) -> Int {
        let changes = try runUserSQL(sql, readOnly: false) { statement in _ = try Row.fetchAll(statement) }
        if changes > 0 { _ = try consumeStream() }
        return changes
    }

    /// The newest successful load's id (0 when none).
    ///
    /// - Throws: ``WarehouseError``.
    public func latestLoadID() throws(WarehouseError) -> Int64 {
        try read { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(max(load_id), 0) FROM firn_loads WHERE status = 'loaded'")
                ?? 0
        }
    }

    /// Whether the entity's stream has changes not yet consumed.
    ///
    /// - Throws: ``WarehouseError``.
    public func streamHasData() throws(WarehouseError) -> Bool {
        let changes = schema.changes
        let name = entity.streamName.normalized
        return try read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS(SELECT 1 FROM \(changes)
                        WHERE seq > (SELECT "offset" FROM firn_streams WHERE name = ?))
                    """,
                arguments: [name]
            ) ?? false
        }
    }

    /// Task definitions and state, for `firn task list`.
    ///
    /// - Throws: ``WarehouseError``.
    public func taskList() throws(WarehouseError) -> QueryResult {
        try read { db in
            try Self.fetch(
                db,
                sql: """
                    SELECT t.name, t.kind, t.task_trigger AS "trigger", t.state, t.consecutive_failures AS failures,
                        (SELECT max(started_at) FROM firn_task_runs r WHERE r.task = t.name) AS last_run,
                        (SELECT status FROM firn_task_runs r WHERE r.task = t.name ORDER BY run_id DESC LIMIT 1)
                            AS last_status,
                        t.body
                    FROM firn_tasks t ORDER BY t.name
                    """
            )
        }
    }

    /// Task runs, newest first, optionally of one task.
    ///
    /// - Throws: ``WarehouseError``.
    public func taskHistory(task: String? = nil, limit: Int = 100) throws(WarehouseError) -> QueryResult {
        try read { db in
            try Self.fetch(
                db,
                sql: """
                    SELECT run_id, task, run_trigger AS "trigger", attempt, started_at, finished_at, status,
                        rows_affected, error
                    FROM firn_task_runs WHERE (? IS NULL OR task = ?) ORDER BY run_id DESC LIMIT ?
                    """,
                arguments: [task, task, limit]
            )
        }
    }
}

extension SQLiteWarehouse {
    /// Deletes staging rows and finished task runs older than `days` days (the `retention`
    /// task). SCD1, history, load history and the pipe's record of taken objects are kept:
    /// history is never recomputed from staging.
    ///
    /// Staging is append-only, so its oldest rows come first: they are deleted from the start
    /// in batches of 5,000, each its own transaction, so loads go on between batches and no
    /// scan of the whole table happens.
    ///
    /// - Returns: Rows deleted.
    /// - Throws: ``WarehouseError``.
    public func prune(olderThanDays days: Int) throws(WarehouseError) -> Int {
        let raw = schema.raw
        let cutoff = Timestamp(microseconds: Timestamp.now().microseconds - Int64(days) * 86_400_000_000).description
        var deleted = 0
        while true {
            let batch = try write { db -> Int in
                try db.execute(
                    sql: """
                        DELETE FROM \(raw) WHERE rowid IN (
                            SELECT rowid FROM \(raw) ORDER BY rowid LIMIT 5000) AND loaded_at < ?
                        """,
                    arguments: [cutoff]
                )
                return db.changesCount
            }
            deleted += batch
            if batch < 5000 { break }
        }
        deleted += try write { db -> Int in
            try db.execute(
                sql: "DELETE FROM firn_task_runs WHERE finished_at < ? AND status <> 'running'",
                arguments: [cutoff]
            )
            return db.changesCount
        }
        return deleted
    }
}
