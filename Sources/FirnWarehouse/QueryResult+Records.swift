import FirnCore

/// Typed reads as tables, with the column names the warehouse's tables and views use, so the
/// listing commands print them like any query.
extension QueryResult {
    /// Load history rows (`firn copy-history`), with the checksum's first 12 characters.
    public init(loads: [LoadSummary]) {
        self.init(
            columns: [
                "load_id", "source", "file_name", "status", "rows_loaded", "rows_rejected", "versions_opened",
                "versions_closed", "started_at", "finished_at", "checksum", "error", "warnings",
            ],
            rows: loads.map { load in
                [
                    .integer(load.id), .text(load.source), .text(load.fileName), .text(load.status),
                    .integer(load.rowsLoaded), .integer(load.rowsRejected), .integer(load.versionsOpened),
                    .integer(load.versionsClosed), .text(load.startedAt), Value(load.finishedAt),
                    .text(String(load.checksum.prefix(12))), Value(load.error), Value(load.warnings),
                ]
            }
        )
    }

    /// Rejected rows (`firn rejects`), in the order given.
    public init(rejects: [RejectRecord]) {
        self.init(
            columns: ["load_id", "source_file", "source_row", "reason", "raw_text", "rejected_at"],
            rows: rejects.map { reject in
                [
                    .integer(reject.loadID), .text(reject.sourceFile), .integer(reject.sourceRow),
                    .text(reject.reason), .text(reject.rawText), .text(reject.rejectedAt),
                ]
            }
        )
    }

    /// Versions as the history table shows them: keys, attributes, `start_time`, `end_time`
    /// (for an open version the entity's ``EntityConfiguration/openEnd``), `is_current`, and
    /// under ``DeletePolicy/record`` `is_deleted`.
    public init(history versions: [Version], of entity: EntityConfiguration) {
        let record = entity.deletes == .record
        self.init(
            columns: entity.keyColumns.map(\.name.normalized) + entity.attributeColumns.map(\.name.normalized)
                + ["start_time", "end_time", "is_current"] + (record ? ["is_deleted"] : []),
            rows: versions.map { version in
                version.key.values + version.attributes + [
                    .text(version.start.description), Self.end(of: version, entity.openEnd),
                    .integer(version.isCurrent ? 1 : 0),
                ] + (record ? [.integer(version.isDeleted ? 1 : 0)] : [])
            }
        )
    }

    /// A version's `end_time` as the history table shows it.
    static func end(of version: Version, _ openEnd: OpenEnd) -> Value {
        if let end = version.end { return .text(end.description) }
        switch openEnd {
        case .sentinel: return .text(Timestamp.openEnd.description)
        case .null: return .null
        }
    }

    /// Versions in force at a time as SCD1 rows: keys, attributes and the event-time column
    /// holding each version's start (`firn as-of`).
    public init(current versions: [Version], of entity: EntityConfiguration) {
        self.init(
            columns: entity.keyColumns.map(\.name.normalized) + entity.attributeColumns.map(\.name.normalized)
                + [entity.eventTimeColumn.normalized],
            rows: versions.map { $0.key.values + $0.attributes + [.text($0.start.description)] }
        )
    }

    /// A stream's net changes: the SCD1 columns, then `METADATA$ACTION`, `METADATA$ISUPDATE`
    /// and `METADATA$ROW_ID`.
    public init(stream changes: [StreamChange], of entity: EntityConfiguration) {
        self.init(
            columns: entity.keyColumns.map(\.name.normalized) + entity.attributeColumns.map(\.name.normalized)
                + [entity.eventTimeColumn.normalized, "METADATA$ACTION", "METADATA$ISUPDATE", "METADATA$ROW_ID"],
            rows: changes.map { $0.row + [.text($0.action), .integer($0.isUpdate ? 1 : 0), .text($0.rowID)] }
        )
    }

    /// Task definitions and state (`firn task list`).
    public init(tasks: [TaskRecord]) {
        self.init(
            columns: ["name", "kind", "trigger", "state", "failures", "last_run", "last_status", "body"],
            rows: tasks.map { task in
                [
                    .text(task.name), .text(task.kind), .text(task.trigger), .text(task.state),
                    .integer(Int64(task.consecutiveFailures)), Value(task.lastRunAt), Value(task.lastStatus),
                    .text(task.body),
                ]
            }
        )
    }

    /// Task runs (`firn task history`).
    public init(taskRuns runs: [TaskRun]) {
        self.init(
            columns: [
                "run_id", "task", "trigger", "attempt", "started_at", "finished_at", "status", "rows_affected", "error",
            ],
            rows: runs.map { run in
                [
                    .integer(run.id), .text(run.task), .text(run.trigger), .integer(Int64(run.attempt)),
                    .text(run.startedAt), Value(run.finishedAt), .text(run.status), .integer(Int64(run.rowsAffected)),
                    Value(run.error),
                ]
            }
        )
    }
}

extension Value {
    /// Text, or NULL for `nil`.
    init(_ text: String?) {
        self = text.map { .text($0) } ?? .null
    }
}

extension QueryResult {
    /// An entity's columns as its tables have them (`firn schema`): each key, attribute, the
    /// event-time and op columns, with its type, its role, and for an attribute schema evolution
    /// added the version, file and time of the change.
    public init(columnsOf entity: EntityConfiguration, history: [SchemaChange]) {
        let added = Dictionary(
            history.filter { $0.kind == .added }.map { ($0.column.name, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        func row(_ column: Column, _ role: String) -> [Value] {
            let change = added[column.name]
            return [
                .text(column.name.normalized), .text(column.type.rawValue), .text(role),
                change.map { .integer(Int64($0.version)) } ?? .null, Value(change?.file), Value(change?.at.description),
            ]
        }
        self.init(
            columns: ["column", "type", "role", "added_in_version", "added_by", "added_at"],
            rows: entity.keyColumns.map { row($0, "key") } + entity.attributeColumns.map { row($0, "attribute") }
                + [
                    row(Column(entity.eventTimeColumn, .timestamp), "event time"),
                    row(Column(entity.operationColumn), "op"),
                ]
        )
    }

    /// Schema history (`firn schema --history`): one row per change, oldest first.
    public init(schemaHistory changes: [SchemaChange]) {
        self.init(
            columns: ["entity", "version", "change", "file_name", "changed_at"],
            rows: changes.map { change in
                [
                    .text(change.entity), .integer(Int64(change.version)), .text(change.summary), .text(change.file),
                    .text(change.at.description),
                ]
            }
        )
    }
}
