import FirnCore
import FirnWarehouse
import PostgresNIO

// User SQL on PostgreSQL (`firn query`, SQL tasks): statements run one by one in one
// transaction, as another client's would (the stream's triggers capture DML on SCD1).
//
// What the SQLite warehouse refuses with an authorizer is checked here against what the
// transaction did, before it commits: transaction control and the pipeline's origin mark are
// refused before anything runs; rows written to Firn's bookkeeping, staging, closed history
// or unchanged records (`pg_stat_xact_user_tables`), and any change to the columns, triggers
// or indexes of Firn's tables (a catalog fingerprint taken before and after), roll the whole
// transaction back with a message naming the table.
extension PostgresWarehouse {
    public func query(_ sql: String, readOnly: Bool) async throws(WarehouseError) -> QueryOutcome {
        try await runUserSQL(sql, readOnly: readOnly)
    }

    /// Firn's tables and views in the schema, which user SQL may read but not reshape.
    var firnRelations: [String] {
        [
            "firn_schema_versions", "firn_entities", "firn_tasks", "firn_task_runs", "firn_pipe_objects", "firn_loads",
            "firn_chunks", "firn_rejects", "firn_streams", "firn_leases",
        ] + [
            entity.rawTable, entity.unchangedTable, entity.currentTable, entity.closedHistoryTable,
            entity.beforeDMLTable, entity.historyTable, entity.changesTable, entity.lateTable,
        ].map(\.normalized)
    }

    /// Tables only Firn writes (the SCD1 table is the user's to change; its triggers write the
    /// change log and the rows saved before DML).
    var bookkeepingTables: [String] {
        firnRelations.filter {
            ![entity.currentTable, entity.historyTable, entity.changesTable, entity.beforeDMLTable]
                .map(\.normalized).contains($0)
        }
    }

    func runUserSQL(_ sql: String, readOnly: Bool) async throws(WarehouseError) -> QueryOutcome {
        let statements = UserSQLSplitter.statements(sql)
        for statement in statements {
            if let refusal = UserSQLSplitter.refusal(statement) { throw .invalidRequest(refusal) }
        }
        let logger = self.logger
        let relations = firnRelations
        let bookkeeping = bookkeepingTables
        let fingerprintSQL = """
            SELECT md5(COALESCE(string_agg(c.relname::text || ':' || c.relkind::text || ':' ||
                COALESCE((SELECT string_agg(a.attname::text || ' ' || a.atttypid::text, ',' ORDER BY a.attnum) FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') || ':' ||
                (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)::text || ':' ||
                (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid)::text, ';' ORDER BY c.relname), ''))
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relname = ANY($1::text[])
            """
        do {
            return try await client.withTransaction(logger: logger) { connection in
                if readOnly { try await connection.execute("SET TRANSACTION READ ONLY", logger: logger) }
                var names = PostgresBindings()
                names.append(relations)
                let before = try await connection.rows(fingerprintSQL, names, logger: logger).first?.decode(String.self)
                // Write counts of Firn's tables on this connection so far: the view may still hold
                // earlier transactions' counts, so what this one wrote is what grows.
                @Sendable func writes(_ connection: PostgresConnection) async throws -> [String: Int64] {
                    var tables = PostgresBindings()
                    tables.append(bookkeeping)
                    var counts: [String: Int64] = [:]
                    for row in try await connection.rows(
                        """
                        SELECT relname::text, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables
                        WHERE schemaname = current_schema() AND relname = ANY($1::text[])
                        """,
                        tables,
                        logger: logger
                    ) {
                        let (name, count) = try row.decode((String, Int64).self)
                        counts[name] = count
                    }
                    return counts
                }
                let writesBefore = try await writes(connection)
                var result = QueryResult(columns: [], rows: [])
                var changes = 0
                for statement in statements {
                    let outcome = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).get()
                    if let first = outcome.rows.first {
                        result = QueryResult(columns: first.map(\.columnName), rows: outcome.rows.map(\.values))
                    } else if UserSQLSplitter.returnsRows(statement) {
                        result = QueryResult(columns: [], rows: [])
                    } else {
                        changes += outcome.metadata.rows ?? 0
                    }
                }
                let after = try await connection.rows(fingerprintSQL, names, logger: logger).first?.decode(String.self)
                if before != after {
                    throw WarehouseError.invalidRequest(
                        "refused: the statements change the columns, triggers or indexes of Firn's tables "
                            + "(\(relations.joined(separator: ", "))); nothing was changed"
                    )
                }
                let written = try await writes(connection).filter { $0.value > (writesBefore[$0.key] ?? 0) }.map(\.key)
                    .sorted()
                if !written.isEmpty {
                    throw WarehouseError.invalidRequest(
                        "refused: \(written.joined(separator: ", ")) \(written.count == 1 ? "is" : "are") Firn's own; "
                            + "only Firn writes \(written.count == 1 ? "it" : "them") (nothing was changed)"
                    )
                }
                return QueryOutcome(result: result, changes: changes)
            }
        } catch {
            throw map(error)
        }
    }
}

/// Splits user SQL into statements (postgres-nio sends one statement per query) and refuses
/// what must not run inside Firn's transaction.
enum UserSQLSplitter {
    /// The statements, without empty ones: `;` ends a statement outside quotes (`'…'`, `"…"`,
    /// `$tag$…$tag$`) and comments (`--…`, `/* … */`).
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current: [UInt8] = []
        let bytes = Array(sql.utf8)
        var index = 0
        func finish() {
            let text = String(decoding: current, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { statements.append(text) }
            current = []
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                var end = index + 1
                while end < bytes.count {
                    if bytes[end] == byte {
                        if end + 1 < bytes.count, bytes[end + 1] == byte { end += 2; continue }
                        break
                    }
                    end += 1
                }
                current += bytes[index...min(end, bytes.count - 1)]
                index = end + 1
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                var depth = 0
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*") {
                        depth += 1
                        index += 2
                    } else if bytes[index] == UInt8(ascii: "*"), index + 1 < bytes.count,
                        bytes[index + 1] == UInt8(ascii: "/")
                    {
                        depth -= 1
                        index += 2
                        if depth == 0 { break }
                    } else {
                        index += 1
                    }
                }
                current.append(UInt8(ascii: " "))
            case UInt8(ascii: "$"):
                // A dollar-quoted string: $tag$ … $tag$ (a tag is letters, digits and _).
                var tagEnd = index + 1
                while tagEnd < bytes.count, bytes[tagEnd] == UInt8(ascii: "_") || isAlphanumeric(bytes[tagEnd]) {
                    tagEnd += 1
                }
                if tagEnd < bytes.count, bytes[tagEnd] == UInt8(ascii: "$"),
                    index == 0 || !isAlphanumeric(bytes[index - 1])
                {
                    let tag = Array(bytes[index...tagEnd])
                    var search = tagEnd + 1
                    var close = bytes.count
                    while search + tag.count <= bytes.count {
                        if Array(bytes[search..<(search + tag.count)]) == tag {
                            close = search
                            break
                        }
                        search += 1
                    }
                    let end = min(bytes.count, close + tag.count)
                    current += bytes[index..<end]
                    index = end
                } else {
                    current.append(byte)
                    index += 1
                }
            case UInt8(ascii: ";"):
                finish()
                index += 1
            default:
                current.append(byte)
                index += 1
            }
        }
        finish()
        return statements
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// The statement's first word, upper-cased.
    static func firstWord(_ statement: String) -> String {
        String(statement.prefix { $0.isLetter || $0 == "_" }).uppercased()
    }

    /// Why a statement is refused before anything runs, or `nil`.
    static func refusal(_ statement: String) -> String? {
        let word = firstWord(statement)
        if ["BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE"].contains(word)
            || (word == "SET" && statement.uppercased().contains("TRANSACTION"))
        {
            return "refused: \(word) - firn runs the statements in one transaction of its own "
                + "(all of them commit, or none does); leave out transaction control"
        }
        if statement.lowercased().contains("firn.origin") {
            return "refused: firn.origin marks the pipeline's own writes; user SQL cannot set it"
        }
        return nil
    }

    /// Whether the statement returns rows (so an empty result is not a count of changes).
    static func returnsRows(_ statement: String) -> Bool {
        ["SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN"].contains(firstWord(statement))
            || statement.uppercased().contains("RETURNING")
    }
}
