import CFirnSQLite
import FirnCore
import FirnWarehouse
import Foundation
import GRDB

/// The embedded warehouse: one SQLite file in WAL mode with one writer at a time and readers
/// that never block it.
///
/// Every change happens in an immediate write transaction, so two Firn processes on one file
/// take turns (waiting up to ``SQLiteConfiguration/busyTimeoutSeconds``) and each sees the
/// other's committed work. A batch's staging rows, history, SCD1 row changes, rejects and
/// load progress commit together or not at all: a crash at any point loses nothing that
/// committed and leaves nothing half-applied.
///
/// How it keeps the contract of ``Warehouse`` that relies on a single writer:
/// - arrival order: every write is an immediate transaction, so one connection writes at a
///   time, and a chunk's arrival number (`firn_chunks`, autoincrement) is taken inside it:
///   numbers follow commit order;
/// - remembered key states (``KeyStateCache``) are dropped when `PRAGMA data_version` shows
///   another connection committed, and after any user SQL;
/// - the pipeline's writer connection runs with triggers off, so its SCD1 writes never reach
///   the change log; every other connection (user SQL, the `sqlite3` shell) fires them;
/// - the task scheduler runs where the `scheduler` lease is held (`firn_leases`).
///
/// The API is `async`: each call runs its blocking SQLite work on a GCD thread, off Swift's
/// cooperative pool (see `SQLiteWarehouse+Warehouse.swift`).
public final class SQLiteWarehouse: Warehouse {
    /// The entity this warehouse keeps tables for: the configured one with the attributes
    /// schema evolution added (``addAttributes(_:file:)``, or another process).
    public var entity: EntityConfiguration { schema.entity }
    /// The entity as configured.
    let configured: EntityConfiguration
    /// The database file.
    public let path: String
    /// The database file, as messages show it.
    public var location: String { path }
    let pool: DatabasePool
    /// The entity's tables and statements as they are now; replaced (under the writer) when
    /// the entity's shape changes.
    var schema: EntitySchema { shape.withLock { $0.schema } }
    let shape: Locked<Shape>
    let checkpointer: Checkpointer?
    let keyStates: KeyStateCache
    /// How long user SQL waits for the writer lock (``SQLiteConfiguration/busyTimeoutSeconds``).
    let userSQLBusyTimeout: Double

    /// Opens (creating if needed) the warehouse file and the entity's tables.
    ///
    /// - Parameters:
    ///   - path: The SQLite file; its directory must exist.
    ///   - entity: The entity; defaults to the built-in customer.
    ///   - configuration: Cache, busy timeout and durability settings.
    /// - Throws: ``WarehouseError/cannotOpen(location:reason:)``, or
    ///   ``WarehouseError/schemaMismatch(table:reason:)`` when the warehouse's tables were made for
    ///   another definition of the entity (the message says what changed).
    public init(
        path: String,
        entity: EntityConfiguration = .customer,
        configuration: SQLiteConfiguration = .init()
    ) throws(WarehouseError) {
        self.configured = entity
        self.path = path
        self.shape = Locked(Shape(schema: EntitySchema(entity: entity), version: 0))
        self.keyStates = KeyStateCache(capacity: configuration.keyStateCapacity)
        self.userSQLBusyTimeout = configuration.busyTimeoutSeconds
        var config = Configuration()
        config.busyMode = .timeout(configuration.busyTimeoutSeconds)
        config.foreignKeysEnabled = false
        let cacheKiB = configuration.cacheSizeMiB * 1024
        let synchronous = configuration.isDurable ? "FULL" : "NORMAL"
        let pageSize = configuration.pageSize
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA page_size = \(pageSize)")
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)")
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                // An existing file keeps the page size it was made with.
                let filePageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? pageSize
                let checkpointPages = configuration.effectiveCheckpointPages(filePageSize: filePageSize)
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(checkpointPages)")
                // The writer's own SCD1 writes are never manual changes (see setTriggers).
                try SQLiteWarehouse.setTriggers(db, enabled: false)
            }
        }
        do {
            let location = configuration.coalescesLogWrites ? WALWriteCoalescing.uri(forPath: path) : path
            let deadline = ContinuousClock.now + .seconds(configuration.busyTimeoutSeconds)
            pool = try Self.retryingWhileBusy(until: deadline) { try DatabasePool(path: location, configuration: config) }
            let shape = self.shape
            try pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    let (effective, toAdd) = try EntitySchema.reconcile(db, configured: entity)
                    var opened = Shape(schema: EntitySchema(entity: effective), version: 0)
                    try SQLiteMigrations.migrate(db, schema: opened.schema, location: path)
                    opened.version = try Self.shapeVersion(db, entity: entity)
                    if !toAdd.isEmpty {
                        opened = try Self.addAttributes(toAdd, db, file: SchemaChange.fromConfig, configured: entity)
                    }
                    shape.withLock { $0 = opened }
                    return .commit
                }
            }
            checkpointer =
                configuration.checkpointsInBackground
                ? try Self.retryingWhileBusy(until: deadline) { try Checkpointer(path: path, configuration: config) }
                : nil
        } catch let error as WarehouseError {
            throw error
        } catch {
            throw .cannotOpen(location: path, reason: Self.reason(error))
        }
    }

    deinit {
        checkpointer?.stop()
    }

    /// Opens a connection, trying again while another process holds the lock it needs.
    ///
    /// Turning a new file to WAL mode takes an exclusive lock without waiting on the busy
    /// timeout, so several processes opening a fresh warehouse at once would otherwise fail with
    /// "database is locked". Blocks the calling thread between attempts (10 to 100 ms).
    static func retryingWhileBusy<T>(until deadline: ContinuousClock.Instant, _ open: () throws -> T) throws -> T {
        var pause = 10
        while true {
            do {
                return try open()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && ContinuousClock.now < deadline {
                usleep(UInt32(pause) * 1000)
                pause = min(pause * 2, 100)
            }
        }
    }

    /// Runs `body` in an immediate write transaction: committed when it returns, rolled back
    /// when it throws. `afterCommit` runs once it has committed, while this connection still
    /// holds the writer.
    func write<T>(
        _ body: (Database) throws -> T,
        afterCommit: () -> Void = {}
    ) throws(WarehouseError) -> T {
        do {
            defer { checkpointer?.noteCommit() }
            return try pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                afterCommit()
                return result!
            }
        } catch let error as WarehouseError {
            throw error
        } catch {
            throw Self.wrap(error)
        }
    }

    /// Runs `body` on a reader connection (a consistent snapshot; never blocks the writer).
    func read<T>(_ body: (Database) throws -> T) throws(WarehouseError) -> T {
        do {
            return try pool.read(body)
        } catch let error as WarehouseError {
            throw error
        } catch {
            throw Self.wrap(error)
        }
    }

    /// Runs `body` in a write transaction that applies records: the key-state cache is
    /// checked against other connections' commits first; the applier updates it as it goes,
    /// so a transaction that fails (or fails to commit) clears it.
    func applying<T>(_ body: (Database) throws -> T) throws(WarehouseError) -> T {
        let cache = keyStates
        do {
            return try write { db in
                cache.validate(dataVersion: try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0)
                // Another process may have added attributes: the batch is applied with them.
                if try Self.shapeVersion(db, entity: configured) != shape.withLock({ $0.version }) {
                    let reloaded = try Self.currentShape(db, configured: configured)
                    shape.withLock { $0 = reloaded }
                    cache.clear()
                }
                let schema = self.schema
                try cache.withStates { states in
                    // A warehouse with no history and no unchanged records has no key with a
                    // state: from here on, the states hold every key there is.
                    guard states.isEmpty, !states.isComplete, states.capacity > 0 else { return }
                    if try Bool.fetchOne(db, sql: schema.holdsNoKeyState) == true { states.beginComplete() }
                }
                return try body(db)
            }
        } catch {
            cache.clear()
            throw error
        }
    }

    // This process's writer connection runs without triggers: its own SCD1 writes are the
    // pipeline's, which the change log must not see, and skipping the triggers (rather than
    // having each fire and find `firn_context` says 'pipeline') saves a tenth of a large batch.
    // User SQL runs on a connection of its own (``runUserSQL(_:readOnly:rows:)``), as it does
    // on any other client (the `sqlite3` shell), where the triggers fire, so manual DML is captured.

    /// Turns the firing of the schema's triggers on or off for the connection.
    static func setTriggers(_ db: Database, enabled: Bool) throws {
        var now: Int32 = -1
        let code = firn_sqlite3_enable_triggers(db.sqliteConnection, enabled ? 1 : 0, &now)
        guard code == SQLITE_OK, now == (enabled ? 1 : 0) else {
            throw WarehouseError.statementFailed(
                sql: "sqlite3_db_config(SQLITE_DBCONFIG_ENABLE_TRIGGER, \(enabled ? 1 : 0))",
                reason: "SQLite error \(code)"
            )
        }
    }

    /// Marks the transaction's own changes as the pipeline's, so the stream triggers skip them
    /// (on connections where they fire).
    func asPipeline<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.execute(sql: "UPDATE firn_context SET origin = 'pipeline'")
        let result = try body()
        try db.execute(sql: "UPDATE firn_context SET origin = 'manual'")
        return result
    }

    static func wrap(_ error: any Error) -> WarehouseError {
        if let error = error as? DatabaseError {
            return .statementFailed(
                sql: error.sql ?? "",
                reason: "SQLite error \(error.resultCode.rawValue): \(error.message ?? "")"
            )
        }
        return .statementFailed(sql: "", reason: "\(error)")
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error)" }
        return "\(error)"
    }

    /// The time as stored: canonical UTC text.
    static func nowText() -> String { Timestamp.now().description }
}
