import FirnCore
import FirnWarehouse
import GRDB
import GRDBSQLite

/// Where user SQL (`firn query`, SQL tasks) may write, enforced while SQLite compiles it.
///
/// User SQL runs on a connection of its own, in one transaction: all of its statements commit
/// together, or none does. SQLite's authorizer (`sqlite3_set_authorizer`) refuses, before
/// anything runs:
/// - transaction control (`BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`): the statements
///   already run in one transaction, and one left open would hold the writer's lock;
/// - `INSERT`, `UPDATE` or `DELETE` on Firn's bookkeeping (load history, chunks, rejects, pipe
///   objects, tasks, streams) and on an entity's staging, closed history and change log; the
///   SCD1 table stays writable (manual DML, taken into history through the stream);
/// - `DROP`, `ALTER`, and `CREATE INDEX` or `CREATE TRIGGER` on any of Firn's tables or views,
///   SCD1 included;
/// - `PRAGMA writable_schema` and changes of the journal or locking mode;
/// - with ``readOnly``, every write at all.
///
/// Writes that triggers make (the stream's change log) are not user SQL and pass. The
/// connection's authorizer is this guard's only for the guard's lifetime.
final class UserSQLGuard {
    /// Tables and views whose rows only Firn writes (lower case).
    let bookkeeping: Set<String>
    /// Tables and views whose schema only Firn changes (lower case): the above and SCD1.
    let firnOwned: Set<String>
    /// Whether every write is refused.
    let readOnly: Bool
    /// Whether statements being compiled are the user's (Firn's own `BEGIN`/`COMMIT` are not).
    var isGuarding = false
    /// Why the last refused statement was refused.
    private(set) var refusal: String?

    init(bookkeeping: Set<String>, scd1Tables: Set<String>, readOnly: Bool) {
        self.bookkeeping = bookkeeping
        self.firnOwned = bookkeeping.union(scd1Tables)
        self.readOnly = readOnly
    }

    /// Names of Firn's tables and views in the database: everything named `firn_…`, and every
    /// table derived from the entities in `firn_entities` (and `entity`, which may not be
    /// recorded yet).
    static func make(_ db: Database, entity: EntityConfiguration, readOnly: Bool) throws -> UserSQLGuard {
        var entities = [entity.name.normalized]
        if try db.tableExists("firn_entities") {
            entities += try String.fetchAll(db, sql: "SELECT name FROM firn_entities")
        }
        var bookkeeping = Set(
            try String.fetchAll(db, sql: "SELECT lower(name) FROM sqlite_master WHERE lower(name) LIKE 'firn\\_%' ESCAPE '\\'")
        )
        var scd1: Set<String> = []
        for name in Set(entities.map { $0.lowercased() }) {
            scd1.insert(name)
            for suffix in EntityConfiguration.derivedTableSuffixes { bookkeeping.insert(name + suffix) }
        }
        return UserSQLGuard(bookkeeping: bookkeeping, scd1Tables: scd1, readOnly: readOnly)
    }

    /// Installs the guard as the connection's authorizer; ``remove(from:)`` takes it away.
    func install(on db: Database) {
        sqlite3_set_authorizer(
            db.sqliteConnection,
            { context, action, first, second, _, trigger in
                Unmanaged<UserSQLGuard>.fromOpaque(context!).takeUnretainedValue()
                    .authorize(action, first.map { String(cString: $0) }, second.map { String(cString: $0) }, trigger != nil)
            },
            Unmanaged.passUnretained(self).toOpaque()
        )
    }

    func remove(from db: Database) {
        sqlite3_set_authorizer(db.sqliteConnection, nil, nil)
    }

    /// Runs `body` with the user's statements guarded; a statement the guard refused throws
    /// ``WarehouseError/invalidRequest(_:)`` with the reason instead of SQLite's "not authorized".
    func guarding<T>(_ body: () throws -> T) throws -> T {
        isGuarding = true
        refusal = nil
        defer { isGuarding = false }
        do {
            return try body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_AUTH {
            throw WarehouseError.invalidRequest(refusal ?? error.message ?? "\(error)")
        }
    }

    private func authorize(_ action: Int32, _ first: String?, _ second: String?, _ fromTrigger: Bool) -> Int32 {
        guard isGuarding, !fromTrigger else { return SQLITE_OK }
        let firstName = first?.lowercased() ?? ""
        let secondName = second?.lowercased() ?? ""
        switch action {
        case SQLITE_TRANSACTION, SQLITE_SAVEPOINT:
            return refuse(
                "\(first ?? "transaction") statements are not allowed here: all statements already run in one "
                    + "transaction, committed together when every one succeeds; leave out BEGIN, COMMIT, ROLLBACK, "
                    + "SAVEPOINT and RELEASE"
            )
        case SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE:
            // Creating or dropping a table writes the schema table; the statement itself is checked.
            if firstName == "sqlite_master" || firstName == "sqlite_temp_master" { return SQLITE_OK }
            if readOnly { return refuse("read-only: \(verb(action)) \(firstName) refused") }
            if bookkeeping.contains(firstName) {
                return refuse(
                    "\(firstName) is Firn's own bookkeeping and cannot be changed by SQL; "
                        + "change the entity's data through its SCD1 table or by loading files"
                )
            }
            return SQLITE_OK
        case SQLITE_DROP_TABLE, SQLITE_DROP_VIEW, SQLITE_DROP_TEMP_TABLE, SQLITE_DROP_TEMP_VIEW:
            return schemaChange("DROP", of: firstName)
        case SQLITE_ALTER_TABLE:
            return schemaChange("ALTER", of: secondName)
        case SQLITE_CREATE_INDEX, SQLITE_CREATE_TRIGGER, SQLITE_DROP_INDEX, SQLITE_DROP_TRIGGER,
            SQLITE_CREATE_TEMP_INDEX, SQLITE_CREATE_TEMP_TRIGGER, SQLITE_DROP_TEMP_INDEX, SQLITE_DROP_TEMP_TRIGGER:
            return schemaChange("an index or trigger on", of: secondName)
        case SQLITE_CREATE_TABLE, SQLITE_CREATE_VIEW, SQLITE_CREATE_TEMP_TABLE, SQLITE_CREATE_TEMP_VIEW,
            SQLITE_CREATE_VTABLE, SQLITE_DROP_VTABLE:
            if readOnly { return refuse("read-only: creating or dropping \(firstName) refused") }
            return SQLITE_OK
        case SQLITE_PRAGMA:
            let changesMode = ["journal_mode", "locking_mode"].contains(firstName) && second != nil
            if firstName == "writable_schema" || changesMode {
                return refuse("PRAGMA \(firstName) is not allowed here: it could corrupt the warehouse")
            }
            return SQLITE_OK
        case SQLITE_ATTACH, SQLITE_DETACH:
            return refuse("ATTACH and DETACH are not allowed here")
        default:
            return SQLITE_OK
        }
    }

    private func schemaChange(_ what: String, of table: String) -> Int32 {
        if readOnly { return refuse("read-only: \(what) \(table) refused") }
        guard firnOwned.contains(table) else { return SQLITE_OK }
        return refuse("\(what) \(table) refused: it is one of Firn's tables, whose schema only Firn changes")
    }

    private func verb(_ action: Int32) -> String {
        switch action {
        case SQLITE_INSERT: "INSERT into"
        case SQLITE_UPDATE: "UPDATE of"
        default: "DELETE from"
        }
    }

    private func refuse(_ reason: String) -> Int32 {
        if refusal == nil { refusal = reason }
        return SQLITE_DENY
    }
}

extension SQLiteWarehouse {
    /// Runs user SQL, statement by statement, in one transaction on a connection of its own,
    /// with the stream's triggers firing and ``UserSQLGuard`` refusing what would break Firn's
    /// bookkeeping.
    ///
    /// - Parameters:
    ///   - readOnly: Refuse every write (the connection is also opened read-only).
    ///   - row: Called with each statement that returns rows, to read them.
    /// - Returns: The number of rows the statements without results changed.
    /// - Throws: ``WarehouseError``; nothing is committed then.
    func runUserSQL(
        _ sql: String,
        readOnly: Bool,
        rows: (Statement) throws -> Void
    ) throws(WarehouseError) -> Int {
        // The SQL may change SCD1, so the writer's memory of key states must be checked again.
        defer { keyStates.clear() }
        var configuration = Configuration()
        configuration.busyMode = .timeout(userSQLBusyTimeout)
        configuration.readonly = readOnly
        configuration.label = "firn user SQL"
        let entity = self.entity
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            return try queue.inDatabase { db in
                let guarding = try UserSQLGuard.make(db, entity: entity, readOnly: readOnly)
                guarding.install(on: db)
                defer { guarding.remove(from: db) }
                var changes = 0
                try db.inTransaction(readOnly ? .deferred : .immediate) {
                    try guarding.guarding {
                        let statements = try db.allStatements(sql: sql)
                        while let statement = try statements.next() {
                            if statement.columnCount > 0 {
                                try rows(statement)
                            } else {
                                try statement.execute()
                                changes += db.changesCount
                            }
                        }
                    }
                    return .commit
                }
                return changes
            }
        } catch let error as WarehouseError {
            throw error
        } catch {
            throw Self.wrap(error)
        }
    }
}

extension EntityConfiguration {
    /// Suffixes of the tables and views Firn derives from an entity's name, besides SCD1.
    static let derivedTableSuffixes = [
        "_raw", "_unchanged", "_history", "_history_closed", "_before_dml", "_changes", "_late",
    ]
}
