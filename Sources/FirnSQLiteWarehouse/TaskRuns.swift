import FirnCore
import GRDB
import FirnWarehouse

extension SQLiteWarehouse {
    /// Makes `firn_tasks` hold exactly these definitions: new ones start `started`, existing
    /// ones keep their state (a suspended task stays suspended across restarts), and tasks no
    /// longer defined are removed. Run history is kept.
    ///
    /// - Throws: ``WarehouseError``.
    func defineTasks(_ tasks: [TaskRecord]) throws(WarehouseError) {
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
    func tasks() throws(WarehouseError) -> [TaskRecord] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT t.name, t.kind, t.task_trigger, t.body, t.state, t.consecutive_failures, t.seen_load_id,
                        (SELECT max(started_at) FROM firn_task_runs r WHERE r.task = t.name),
                        (SELECT status FROM firn_task_runs r WHERE r.task = t.name ORDER BY run_id DESC LIMIT 1)
                    FROM firn_tasks t ORDER BY t.name
                    """
            ).map { row in
                var record = TaskRecord(name: row[0], kind: row[1], trigger: row[2], body: row[3])
                record.state = row[4]
                record.consecutiveFailures = row[5]
                record.seenLoadID = row[6]
                record.lastRunAt = row[7]
                record.lastStatus = row[8]
                return record
            }
        }
    }

    /// Suspends or resumes a task. Resuming clears its failure count.
    ///
    /// - Throws: ``WarehouseError/invalidRequest(_:)`` when there is no such task.
    func setTaskState(_ name: String, suspended: Bool) throws(WarehouseError) {
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
    func beginTaskRun(_ task: String, trigger: String, attempt: Int) throws(WarehouseError) -> Int64 {
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
    func finishTaskRun(
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
    func abandonUnfinishedTaskRuns() throws(WarehouseError) {
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
    func runTaskSQL(_ sql: String) throws(WarehouseError) -> Int {
        let changes = try runUserSQL(sql, readOnly: false) { statement in _ = try Row.fetchAll(statement) }
        if changes > 0 { _ = try consumeStream() }
        return changes
    }

    /// The newest successful load's id (0 when none).
    ///
    /// - Throws: ``WarehouseError``.
    func latestLoadID() throws(WarehouseError) -> Int64 {
        try read { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(max(load_id), 0) FROM firn_loads WHERE status = 'loaded'")
                ?? 0
        }
    }

    /// Whether the entity's stream has changes not yet consumed.
    ///
    /// - Throws: ``WarehouseError``.
    func streamHasData() throws(WarehouseError) -> Bool {
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

    /// One page of task runs, newest first, of one task or of all.
    func taskRuns(task: String?, _ page: PageRequest) throws(WarehouseError) -> Page<TaskRun> {
        let before = page.after?.position.first ?? .null
        return try read { db in
            let runs = try Row.fetchAll(
                db,
                sql: """
                    SELECT run_id, task, run_trigger, attempt, started_at, finished_at, status, rows_affected, error
                    FROM firn_task_runs WHERE (? IS NULL OR task = ?) AND (? IS NULL OR run_id < ?)
                    ORDER BY run_id DESC LIMIT ?
                    """,
                arguments: [task, task, before.databaseValue, before.databaseValue, page.limit + 1]
            ).map { row in
                TaskRun(
                    id: row[0],
                    task: row[1],
                    trigger: row[2],
                    attempt: row[3],
                    startedAt: row[4],
                    finishedAt: row[5],
                    status: row[6],
                    rowsAffected: row[7],
                    error: row[8]
                )
            }
            return Page(reading: runs, for: page) { [.integer($0.id)] }
        }
    }

    /// Takes or renews a lease (see ``TaskLedger/acquireLease(_:holder:seconds:)``): one row
    /// per lease in `firn_leases`, changed in an immediate transaction, so processes sharing the
    /// file take turns.
    func acquireLease(_ name: String, holder: String, seconds: Double) throws(WarehouseError) -> Bool {
        try write { db in
            let now = Timestamp.now()
            let until = Timestamp(microseconds: now.microseconds + Int64(seconds * 1_000_000))
            try db.execute(
                sql: """
                    INSERT INTO firn_leases (name, holder, expires_at) VALUES (?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                    WHERE firn_leases.holder = excluded.holder OR firn_leases.expires_at < ?
                    """,
                arguments: [name, holder, until.description, now.description]
            )
            return try String.fetchOne(db, sql: "SELECT holder FROM firn_leases WHERE name = ?", arguments: [name])
                == holder
        }
    }

    /// Gives a lease up, if `holder` holds it.
    func releaseLease(_ name: String, holder: String) throws(WarehouseError) {
        try write { db in
            try db.execute(sql: "DELETE FROM firn_leases WHERE name = ? AND holder = ?", arguments: [name, holder])
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
    func prune(olderThanDays days: Int) throws(WarehouseError) -> Int {
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
