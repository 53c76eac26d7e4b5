import FirnCore
import FirnWarehouse
import GRDB

/// History's layout on SQLite: closed versions in a table of their own, open versions in SCD1.
///
/// SCD1 holds exactly the open versions (`update_timestamp` is the open version's start), so
/// history keeps only closed versions, in `customer_history_closed`, a table they are appended
/// to as they close; `customer_history` is a view over both. A batch of changes then rewrites
/// the SCD1 row of each key it touches and appends the versions it closes, instead of also
/// rewriting a random page of a history keyed by customer, which grows with every change
/// (`firn bench load`, B = 10,000: see README, Throughput).
///
/// The closed versions are indexed by key alone: a key has a few, read together. (Key,
/// `start_time`) is unique by construction, which the tests check; an index on both was 1,177
/// pages against 352 after the benchmark's run, and cost a tenth of the throughput at
/// B = 10,000 (108.6k against 121.9k rows/s, medians of four alternating pairs).
///
/// Manual DML on SCD1 (`firn query "UPDATE customer …"`, any SQLite client) changes the rows
/// that are also the open versions, before the stream has taken the change into history.
/// Triggers therefore save each such key's row as it was first, in `customer_before_dml`
/// (or mark that it had none); the view shows those saved rows as the open versions, so history
/// shows exactly what it held before the DML. Consuming the stream puts the saved rows back
/// (``rewindSCD1``), then applies the logged changes as records, like any others.
extension EntitySchema {
    /// The current time as SQL, in the stored form.
    static let nowSQL = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"

    /// Makes the history view show the entity's ``EntityConfiguration/openEnd`` and
    /// ``EntityConfiguration/deletes``: a warehouse made with others gets its view redefined
    /// (closed versions and SCD1 are kept as they are, so the options can change between runs).
    func matchHistoryView(_ db: Database) throws {
        guard let sql = try String.fetchOne(
            db,
            sql: "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?",
            arguments: [entity.historyTable.normalized]
        ) else { return }
        guard historyViewNeedsRedefinition(sql) else { return }
        try db.execute(sql: "DROP VIEW \(history)")
        try db.execute(sql: "CREATE VIEW \(history) AS " + historyView)
    }

    /// Columns of the closed-history table, as a buffered insert binds them.
    var closedColumns: [String] { keys + attributes + ["start_time", "end_time"] }

    func historyStatements(keyDefs: [String], attrDefs: [String]) -> [String] {
        // No derived name is longer than the configuration checks for (16 characters past the entity's).
        let index = entity.name.suffixed("_history_by_key").quoted
        return [
            """
            CREATE TABLE IF NOT EXISTS \(closed) (
                \((keyDefs.map { $0 + " NOT NULL" } + attrDefs).joined(separator: ",\n    ")),
                start_time TEXT NOT NULL,
                end_time TEXT NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS \(index) ON \(closed) (\(keyList))",
            """
            CREATE TABLE IF NOT EXISTS \(beforeDML) (
                \((keyDefs.map { $0 + " NOT NULL" } + attrDefs).joined(separator: ",\n    ")),
                \(eventTime) TEXT,
                _firn_absent INTEGER NOT NULL,
                PRIMARY KEY (\(keyList))
            ) WITHOUT ROWID
            """,
            "CREATE VIEW IF NOT EXISTS \(history) AS " + historyView,
        ]
    }

    /// The history view's query: closed versions, then SCD1's rows as open versions, except
    /// those of keys that manual DML has changed since the stream was consumed, whose rows
    /// as history had them are saved; under `deletes: record`, deleted spans too.
    var historyView: String {
        versions(live: notDeletedColumn(integer: "")) + deletedSpansArm(integer: "", text: "")
    }

    /// The view's versions alone (what `as-of` reads): `live` ends each arm's columns.
    func versions(live: String) -> String {
        """
        SELECT \(keyList), \(attributesThenComma)start_time, end_time, 0 AS is_current\(live) FROM \(closed)
        UNION ALL
        SELECT \(keyList), \(attributesThenComma)\(eventTime) AS start_time, \(openEndInView) AS end_time,
            1 AS is_current\(live)
        FROM \(current) AS c WHERE NOT EXISTS (SELECT 1 FROM \(beforeDML) AS b WHERE \(keysEqual("b", "c")))
        UNION ALL
        SELECT \(keyList), \(attributesThenComma)\(eventTime), \(openEndInView), 1\(live) FROM \(beforeDML)
        WHERE _firn_absent = 0
        """
    }

    /// The stream's triggers on SCD1, which fire for changes the pipeline did not make: each
    /// logs the change, and the key's row as it was before its first such change is saved.
    var triggerStatements: [String] {
        let all = imageColumns
        let oldNames = all.map { Identifier(stringLiteral: "old_" + $0.name.normalized).quoted }
        let newNames = all.map { Identifier(stringLiteral: "new_" + $0.name.normalized).quoted }
        let oldValues = all.map { "OLD.\($0.name.quoted)" }
        let newValues = all.map { "NEW.\($0.name.quoted)" }
        let manual = "WHEN (SELECT origin FROM firn_context) IS NOT 'pipeline'"
        let rowColumns = (keys + attributes + [eventTime]).joined(separator: ", ")
        // The row a key has now, if any (a key that has none is marked once the change is made);
        // only the first image of a key counts. `WHERE NOT EXISTS` rather than `OR IGNORE`: a
        // statement's own conflict policy (`INSERT OR REPLACE …`) overrides its triggers'.
        func unsaved(_ image: String) -> String {
            "NOT EXISTS (SELECT 1 FROM \(beforeDML) WHERE \(keysEqual(beforeDML, image)))"
        }
        func save(_ image: String) -> String {
            "INSERT INTO \(beforeDML) (\(rowColumns), _firn_absent) "
                + "SELECT \(rowColumns), 0 FROM \(current) WHERE \(keysEqual(current, image)) AND \(unsaved(image));"
        }
        func markAbsent(_ image: String) -> String {
            "INSERT INTO \(beforeDML) (\(keyList), _firn_absent) "
                + "SELECT \(keys.map { "\(image).\($0)" }.joined(separator: ", ")), 1 WHERE \(unsaved(image));"
        }
        let triggers: [(String, String, [String], [String], before: [String], after: [String])] = [
            ("INSERT", "insert", newNames, newValues, [save("NEW")], [markAbsent("NEW")]),
            (
                "UPDATE", "update", oldNames + newNames, oldValues + newValues, [save("OLD"), save("NEW")],
                [markAbsent("NEW")]
            ),
            ("DELETE", "delete", oldNames, oldValues, [save("OLD")], []),
        ]
        var statements: [String] = []
        for (event, suffix, names, values, before, after) in triggers {
            statements.append(
                """
                CREATE TRIGGER IF NOT EXISTS \(entity.name.suffixed("_save_" + suffix).quoted)
                BEFORE \(event) ON \(current) \(manual)
                BEGIN
                    \(before.joined(separator: "\n    "))
                END
                """
            )
            statements.append(
                """
                CREATE TRIGGER IF NOT EXISTS \(entity.name.suffixed("_stream_" + suffix).quoted)
                AFTER \(event) ON \(current) \(manual)
                BEGIN
                    INSERT INTO \(changes) (action, changed_at, \(names.joined(separator: ", ")))
                    VALUES ('\(event)', \(Self.nowSQL), \(values.joined(separator: ", ")));
                    \(after.joined(separator: "\n    "))
                END
                """
            )
        }
        return statements
    }

    // MARK: Statements used while applying a batch

    /// A key's SCD1 row, which is its open version: parameters the key columns; columns the
    /// attributes, then the event-time column (the version's start).
    var openVersionProbe: String {
        "SELECT \(attributesThenComma)\(eventTime) FROM \(current) WHERE \(keyMatch)"
    }

    /// A key's latest closed version: parameters the key columns; columns `start_time`, `end_time`.
    var lastClosedProbe: String {
        "SELECT start_time, end_time FROM \(closed) WHERE \(keyMatch) ORDER BY start_time DESC LIMIT 1"
    }

    /// A key's versions ending at or after a time, or open, oldest first: parameters the key
    /// columns, the time, then the key columns again; columns the attributes, `start_time`,
    /// `end_time`.
    var versionsEndingFrom: String {
        "SELECT \(attributesThenComma)start_time, end_time FROM \(closed) WHERE \(keyMatch) AND end_time >= ? "
            + "UNION ALL SELECT \(attributesThenComma)\(eventTime), \(Self.openEndSQL) FROM \(current) WHERE \(keyMatch) "
            + "ORDER BY \(attributes.count + 1)"
    }

    /// Parameters the attributes, `end_time`, the key columns, `start_time`.
    var updateClosed: String {
        let sets = (attributes + ["end_time"]).map { "\($0) = ?" }.joined(separator: ", ")
        return "UPDATE \(closed) SET \(sets) WHERE \(keyMatch) AND start_time = ?"
    }

    /// Parameters `end_time`, the key columns, `start_time`.
    var endClosed: String { "UPDATE \(closed) SET end_time = ? WHERE \(keyMatch) AND start_time = ?" }

    var deleteClosed: String { "DELETE FROM \(closed) WHERE \(keyMatch) AND start_time = ?" }

    /// Closed versions, many per statement.
    func bufferedClosed(_ db: Database) -> BufferedWrite {
        BufferedWrite(db: db, attributeCount: attributes.count) { [self] rows in
            insertValues(table: closed, columns: closedColumns, rows: rows)
        }
    }

    // MARK: Manual DML

    /// Whether manual DML has changed SCD1 since the stream was last consumed.
    var hasRowsBeforeDML: String { "SELECT EXISTS (SELECT 1 FROM \(beforeDML))" }

    /// Puts SCD1 back as history has it: the saved rows of keys changed by manual DML.
    var rewindSCD1: [String] {
        let columns = (keys + attributes + [eventTime]).joined(separator: ", ")
        return [
            "DELETE FROM \(current) WHERE (\(keyList)) IN (SELECT \(keyList) FROM \(beforeDML))",
            "INSERT INTO \(current) (\(columns)) SELECT \(columns) FROM \(beforeDML) WHERE _firn_absent = 0",
            "DELETE FROM \(beforeDML)",
        ]
    }

    // MARK: Moving a warehouse from the earlier layout

    /// Whether `customer_history` is still a table (the layout before closed versions were
    /// kept apart): then ``migrationBeforeCreation`` and ``migrationAfterCreation`` bracket the
    /// creation statements, in one transaction.
    var historyIsTable: String {
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '\(entity.historyTable.normalized)')"
    }

    /// The stream's triggers are recreated (they now also save rows before DML). The old
    /// history table keeps its name until the closed versions have moved, so `CREATE VIEW IF
    /// NOT EXISTS` among the creation statements does nothing; it is dropped, not renamed
    /// (a rename would rewrite users' views and triggers to the old name, and checks every one).
    var migrationBeforeCreation: [String] {
        ["insert", "update", "delete"].map { "DROP TRIGGER IF EXISTS \(entity.name.suffixed("_stream_" + $0).quoted)" }
    }

    /// Closed versions move; where SCD1 is not the open versions (manual DML the stream had not
    /// yet taken in), the open versions are kept as rows before DML.
    var migrationAfterCreation: [String] {
        let sameRow = (attributes + [eventTime]).enumerated().map { index, column in
            "c.\(column) IS h.\(index == attributes.count ? "start_time" : column)"
        }
        return [
            "INSERT INTO \(closed) (\(closedColumns.joined(separator: ", "))) "
                + "SELECT \(keyList), \(attributesThenComma)start_time, end_time FROM \(history) WHERE is_current = 0",
            "INSERT INTO \(beforeDML) (\(keyList), \(attributesThenComma)\(eventTime), _firn_absent) "
                + "SELECT \(keyList), \(attributesThenComma)start_time, 0 FROM \(history) AS h WHERE is_current = 1 "
                + "AND NOT EXISTS (SELECT 1 FROM \(current) AS c WHERE \(keysEqual("c", "h")) AND "
                + sameRow.joined(separator: " AND ") + ")",
            "INSERT INTO \(beforeDML) (\(keyList), _firn_absent) SELECT \(keyList), 1 FROM \(current) AS c "
                + "WHERE NOT EXISTS (SELECT 1 FROM \(history) AS h WHERE \(keysEqual("h", "c")) AND is_current = 1)",
            "DROP TABLE \(history)",
            "CREATE VIEW \(history) AS " + historyView,
        ]
    }
}
