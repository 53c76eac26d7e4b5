import FirnCore
import FirnWarehouse
import PostgresNIO

// The pipe's and the scheduler's ledgers on PostgreSQL: the same tables and rules as on
// SQLite (see `PipeLedger` and `TaskLedger`).
extension PostgresWarehouse {
    // MARK: PipeLedger

    public func takenPipeObjects(after: String?) async throws(WarehouseError) -> Set<String> {
        let logger = self.logger
        return try await reading { connection in
            var binds = PostgresBindings()
            binds.append(after ?? "")
            var taken: Set<String> = []
            for row in try await connection.rows(
                "SELECT object_key, etag FROM firn_pipe_objects WHERE object_key > $1",
                binds,
                logger: logger
            ) {
                let (key, etag) = try row.decode((String, String).self)
                taken.insert(PipeObjectTaken.name(key: key, etag: etag))
            }
            return taken
        }
    }

    public func hasTakenPipeObject(key: String, etag: String) async throws(WarehouseError) -> Bool {
        let logger = self.logger
        return try await reading { connection in
            var binds = PostgresBindings()
            binds.append(key)
            binds.append(etag)
            return try await connection.rows(
                "SELECT EXISTS (SELECT 1 FROM firn_pipe_objects WHERE object_key = $1 AND etag = $2)",
                binds,
                logger: logger
            ).first?.decode(Bool.self) ?? false
        }
    }

    public func takenPipeObjects(
        among objects: [(key: String, etag: String)]
    ) async throws(WarehouseError) -> Set<String> {
        guard !objects.isEmpty else { return [] }
        let logger = self.logger
        return try await reading { connection in
            var binds = PostgresBindings()
            binds.append(objects.map(\.key))
            binds.append(objects.map(\.etag))
            var taken: Set<String> = []
            for row in try await connection.rows(
                """
                SELECT o.object_key, o.etag FROM unnest($1::text[], $2::text[]) AS a(object_key, etag)
                JOIN firn_pipe_objects o ON o.object_key = a.object_key AND o.etag = a.etag
                """,
                binds,
                logger: logger
            ) {
                let (key, etag) = try row.decode((String, String).self)
                taken.insert(PipeObjectTaken.name(key: key, etag: etag))
            }
            return taken
        }
    }

    public func recordPipeObject(
        key: String,
        etag: String,
        sizeBytes: Int64,
        loadID: Int64?,
        status: String
    ) async throws(WarehouseError) {
        let logger = self.logger
        try await transaction { connection in
            var binds = PostgresBindings()
            binds.append(key)
            binds.append(etag)
            binds.append(sizeBytes)
            binds.append(loadID)
            binds.append(status)
            binds.append(Timestamp.now().description)
            try await connection.execute(
                """
                INSERT INTO firn_pipe_objects (object_key, etag, size_bytes, load_id, status, seen_at, loaded_at)
                VALUES ($1, $2, $3, $4, $5, $6, $6)
                ON CONFLICT (object_key, etag) DO UPDATE SET load_id = excluded.load_id, status = excluded.status,
                    loaded_at = excluded.loaded_at
                """,
                binds,
                logger: logger
            )
        }
    }

    public func pipeObjects(_ page: PageRequest) async throws(WarehouseError) -> Page<PipeObject> {
        let logger = self.logger
        return try await reading { connection in
            var binds = PostgresBindings()
            let after = page.after?.position ?? []
            binds.append(after.count == 2 ? after[0].description : nil)
            binds.append(after.count == 2 ? after[1].description : nil)
            binds.append(Int64(page.limit + 1))
            let objects = try await connection.rows(
                """
                SELECT object_key, etag, load_id, status, size_bytes, seen_at, loaded_at FROM firn_pipe_objects
                WHERE $1::text IS NULL OR (object_key, etag) > ($1, $2::text) ORDER BY object_key, etag LIMIT $3
                """,
                binds,
                logger: logger
            ).map { row in
                let (key, etag, load, status, size, seen, loaded) = try row.decode(
                    (String, String, Int64?, String, Int64, String, String?).self
                )
                return PipeObject(
                    key: key,
                    etag: etag,
                    loadID: load,
                    status: status,
                    sizeBytes: size,
                    seenAt: seen,
                    loadedAt: loaded
                )
            }
            return Page(reading: objects, for: page) { [.text($0.key), .text($0.etag)] }
        }
    }

    // MARK: TaskLedger

    public func defineTasks(_ tasks: [TaskRecord]) async throws(WarehouseError) {
        let logger = self.logger
        try await transaction { connection in
            var names = PostgresBindings()
            names.append(tasks.map(\.name))
            try await connection.execute("DELETE FROM firn_tasks WHERE NOT (name = ANY($1::text[]))", names, logger: logger)
            for task in tasks {
                var binds = PostgresBindings()
                binds.append(task.name)
                binds.append(task.kind)
                binds.append(task.trigger)
                binds.append(task.body)
                binds.append(Timestamp.now().description)
                try await connection.execute(
                    """
                    INSERT INTO firn_tasks (name, kind, task_trigger, body, state, consecutive_failures, seen_load_id,
                        updated_at)
                    VALUES ($1, $2, $3, $4, 'started', 0, 0, $5)
                    ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, task_trigger = excluded.task_trigger,
                        body = excluded.body
                    """,
                    binds,
                    logger: logger
                )
            }
        }
    }

    public func tasks() async throws(WarehouseError) -> [TaskRecord] {
        let logger = self.logger
        return try await reading { connection in
            try await connection.rows(
                """
                SELECT t.name, t.kind, t.task_trigger, t.body, t.state, t.consecutive_failures, t.seen_load_id,
                    (SELECT max(started_at) FROM firn_task_runs r WHERE r.task = t.name),
                    (SELECT status FROM firn_task_runs r WHERE r.task = t.name ORDER BY run_id DESC LIMIT 1)
                FROM firn_tasks t ORDER BY t.name
                """,
                logger: logger
            ).map { row in
                let (name, kind, trigger, body, state, failures, seen, lastRun, lastStatus) = try row.decode(
                    (String, String, String, String, String, Int64, Int64, String?, String?).self
                )
                var record = TaskRecord(name: name, kind: kind, trigger: trigger, body: body)
                record.state = state
                record.consecutiveFailures = Int(failures)
                record.seenLoadID = seen
                record.lastRunAt = lastRun
                record.lastStatus = lastStatus
                return record
            }
        }
    }

    public func setTaskState(_ name: String, suspended: Bool) async throws(WarehouseError) {
        let logger = self.logger
        let changed = try await transaction { connection -> Int in
            var binds = PostgresBindings()
            binds.append(suspended ? "suspended" : "started")
            binds.append(Timestamp.now().description)
            binds.append(suspended)
            binds.append(name)
            return try await connection.changing(
                """
                UPDATE firn_tasks SET state = $1, updated_at = $2,
                    consecutive_failures = CASE WHEN $3 THEN consecutive_failures ELSE 0 END
                WHERE name = $4
                """,
                binds,
                logger: logger
            )
        }
        if changed == 0 { throw .invalidRequest("no task named \(name.debugDescription) (see `firn task list`)") }
    }

    public func beginTaskRun(_ task: String, trigger: String, attempt: Int) async throws(WarehouseError) -> Int64 {
        let logger = self.logger
        return try await transaction { connection in
            var binds = PostgresBindings()
            binds.append(task)
            binds.append(trigger)
            binds.append(Int64(attempt))
            binds.append(Timestamp.now().description)
            return try await connection.rows(
                """
                INSERT INTO firn_task_runs (task, run_trigger, attempt, started_at, status, rows_affected)
                VALUES ($1, $2, $3, $4, 'running', 0) RETURNING run_id
                """,
                binds,
                logger: logger
            ).first!.decode(Int64.self)
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
        let logger = self.logger
        return try await transaction { connection in
            var binds = PostgresBindings()
            binds.append(Timestamp.now().description)
            binds.append(succeeded ? "succeeded" : "failed")
            binds.append(Int64(rowsAffected))
            binds.append(error)
            binds.append(run)
            try await connection.execute(
                "UPDATE firn_task_runs SET finished_at = $1, status = $2, rows_affected = $3, error = $4 WHERE run_id = $5",
                binds,
                logger: logger
            )
            var name = PostgresBindings()
            if succeeded {
                name.append(seenLoadID)
                name.append(task)
                try await connection.execute(
                    """
                    UPDATE firn_tasks SET consecutive_failures = 0,
                        seen_load_id = greatest(seen_load_id, COALESCE($1::bigint, seen_load_id))
                    WHERE name = $2
                    """,
                    name,
                    logger: logger
                )
            } else if endsRun {
                name.append(task)
                try await connection.execute(
                    "UPDATE firn_tasks SET consecutive_failures = consecutive_failures + 1 WHERE name = $1",
                    name,
                    logger: logger
                )
            }
            var lookup = PostgresBindings()
            lookup.append(task)
            return Int(
                try await connection.rows(
                    "SELECT consecutive_failures FROM firn_tasks WHERE name = $1",
                    lookup,
                    logger: logger
                ).first?.decode(Int64.self) ?? 0
            )
        }
    }

    public func abandonUnfinishedTaskRuns() async throws(WarehouseError) {
        let logger = self.logger
        try await transaction { connection in
            var binds = PostgresBindings()
            binds.append(Timestamp.now().description)
            try await connection.execute(
                """
                UPDATE firn_task_runs SET status = 'failed', finished_at = $1,
                    error = 'interrupted: the process stopped during the run'
                WHERE status = 'running'
                """,
                binds,
                logger: logger
            )
        }
    }

    public func runTaskSQL(_ sql: String) async throws(WarehouseError) -> Int {
        let changes = try await runUserSQL(sql, readOnly: false).changes
        if changes > 0 { try await consumeStream() }
        return changes
    }

    public func taskRuns(task: String?, _ page: PageRequest) async throws(WarehouseError) -> Page<TaskRun> {
        let logger = self.logger
        return try await reading { connection in
            var binds = PostgresBindings()
            binds.append(task)
            binds.append(page.after?.position.first.flatMap { if case .integer(let id) = $0 { id } else { nil } })
            binds.append(Int64(page.limit + 1))
            let runs = try await connection.rows(
                """
                SELECT run_id, task, run_trigger, attempt, started_at, finished_at, status, rows_affected, error
                FROM firn_task_runs WHERE ($1::text IS NULL OR task = $1) AND ($2::bigint IS NULL OR run_id < $2)
                ORDER BY run_id DESC LIMIT $3
                """,
                binds,
                logger: logger
            ).map { row in
                let (id, task, trigger, attempt, started, finished, status, rows, error) = try row.decode(
                    (Int64, String, String, Int64, String, String?, String, Int64, String?).self
                )
                return TaskRun(
                    id: id,
                    task: task,
                    trigger: trigger,
                    attempt: Int(attempt),
                    startedAt: started,
                    finishedAt: finished,
                    status: status,
                    rowsAffected: Int(rows),
                    error: error
                )
            }
            return Page(reading: runs, for: page) { [.integer($0.id)] }
        }
    }

    public func prune(olderThanDays days: Int) async throws(WarehouseError) -> Int {
        let logger = self.logger
        let raw = schema.raw
        let cutoff = Timestamp(microseconds: Timestamp.now().microseconds - Int64(days) * 86_400_000_000).description
        var deleted = 0
        while true {
            let batch = try await transaction { connection -> Int in
                var binds = PostgresBindings()
                binds.append(cutoff)
                return try await connection.changing(
                    "DELETE FROM \(raw) WHERE ctid = ANY (ARRAY(SELECT ctid FROM \(raw) WHERE loaded_at < $1 LIMIT 5000))",
                    binds,
                    logger: logger
                )
            }
            deleted += batch
            if batch < 5000 { break }
        }
        deleted += try await transaction { connection -> Int in
            var binds = PostgresBindings()
            binds.append(cutoff)
            return try await connection.changing(
                "DELETE FROM firn_task_runs WHERE finished_at < $1 AND status <> 'running'",
                binds,
                logger: logger
            )
        }
        return deleted
    }

    public func acquireLease(_ name: String, holder: String, seconds: Double) async throws(WarehouseError) -> Bool {
        let logger = self.logger
        return try await transaction { connection in
            let now = Timestamp.now()
            var binds = PostgresBindings()
            binds.append(name)
            binds.append(holder)
            binds.append(Timestamp(microseconds: now.microseconds + Int64(seconds * 1_000_000)).description)
            binds.append(now.description)
            try await connection.execute(
                """
                INSERT INTO firn_leases (name, holder, expires_at) VALUES ($1, $2, $3)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE firn_leases.holder = excluded.holder OR firn_leases.expires_at < $4
                """,
                binds,
                logger: logger
            )
            var lookup = PostgresBindings()
            lookup.append(name)
            return try await connection.rows(
                "SELECT holder FROM firn_leases WHERE name = $1",
                lookup,
                logger: logger
            ).first?.decode(String.self) == holder
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws(WarehouseError) {
        let logger = self.logger
        try await transaction { connection in
            var binds = PostgresBindings()
            binds.append(name)
            binds.append(holder)
            try await connection.execute("DELETE FROM firn_leases WHERE name = $1 AND holder = $2", binds, logger: logger)
        }
    }
}
