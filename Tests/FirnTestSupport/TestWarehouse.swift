import FirnCore
import FirnSQLiteWarehouse
import FirnWarehouse
import FirnPostgresWarehouse
import Foundation
import GRDB

/// One input row as a test writes it; its arrival is set when its file is loaded.
public struct Draft: Hashable, Sendable, CustomStringConvertible {
    public var key: Int64
    public var time: Timestamp
    public var operation: FirnCore.Operation
    public var attributes: [Value]

    public init(key: Int64, time: Timestamp, operation: FirnCore.Operation, attributes: [Value]) {
        self.key = key
        self.time = time
        self.operation = operation
        self.attributes = attributes
    }

    public var description: String {
        let values = attributes.map { Cell($0).description }.joined(separator: ",")
        return "\(operation.rawValue) key=\(key) t=\(time) [\(values)]"
    }
}

/// A file of change records: its content identity and its rows (row 1 first).
public struct TestFile: Sendable, CustomStringConvertible {
    public var name: String
    public var checksum: String
    public var rows: [Draft]

    public init(name: String, checksum: String, rows: [Draft]) {
        self.name = name
        self.checksum = checksum
        self.rows = rows
    }

    public var content: FileContent { FileContent(name: name, checksum: checksum, sizeBytes: Int64(rows.count * 64)) }

    public func records(load: Int64) -> [ChangeRecord] {
        rows.enumerated().map { index, draft in
            ChangeRecord(
                key: Key(draft.key),
                eventTime: draft.time,
                operation: draft.operation,
                attributes: draft.attributes,
                arrival: Arrival(load: load, row: Int64(index + 1))
            )
        }
    }

    public var description: String {
        "\(name) (\(checksum)):\n" + rows.enumerated().map { "    \($0 + 1): \($1)" }.joined(separator: "\n")
    }
}

/// A fresh warehouse in a temporary directory (removed again on deinit) that remembers every
/// record it loaded, so tests can hand the same records to ``ReferenceModel``.
public final class TestWarehouse {
    public static let attributeNames = ["first_name", "last_name", "email", "street", "city", "state", "country"]
    public static let historySQL =
        "SELECT customer_id, \(attributeNames.joined(separator: ", ")), start_time, end_time, is_current "
        + "FROM customer_history ORDER BY customer_id, start_time"
    /// ``historySQL`` with `is_deleted` last, for an entity under `deletes: record`.
    public static let historyWithDeletesSQL =
        "SELECT customer_id, \(attributeNames.joined(separator: ", ")), start_time, end_time, is_current, is_deleted "
        + "FROM customer_history ORDER BY customer_id, start_time"
    public static let currentSQL =
        "SELECT customer_id, \(attributeNames.joined(separator: ", ")), update_timestamp "
        + "FROM customer ORDER BY customer_id"

    public let directory: URL
    /// The warehouse, as the flow sees it.
    public let warehouse: any Warehouse
    /// The backend it runs on.
    public let backend: TestBackend
    /// The warehouse, for what is SQLite's own (only on ``TestBackend/sqlite``).
    public var sqlite: SQLiteWarehouse { warehouse as! SQLiteWarehouse }
    /// Every record applied so far, with its arrival.
    public private(set) var loaded: [ChangeRecord] = []

    /// A fresh SQLite warehouse; its writer remembers at most `keyStateCapacity` keys' states
    /// (the default when `nil`).
    public init(entity: EntityConfiguration = .customer, keyStateCapacity: Int? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-scd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = SQLiteConfiguration()
        configuration.isDurable = false
        configuration.cacheSizeMiB = 4
        if let keyStateCapacity { configuration.keyStateCapacity = keyStateCapacity }
        backend = .sqlite
        warehouse = try SQLiteWarehouse(
            path: directory.appendingPathComponent("firn.sqlite").path,
            entity: entity,
            configuration: configuration
        )
    }

    private init(directory: URL, warehouse: any Warehouse, backend: TestBackend) {
        self.directory = directory
        self.warehouse = warehouse
        self.backend = backend
    }

    /// A warehouse the caller opened (and whose files it removes): one of several openings of
    /// the same warehouse, say.
    public convenience init(wrapping warehouse: any Warehouse, backend: TestBackend) {
        let unused = FileManager.default.temporaryDirectory.appendingPathComponent("firn-unused-\(UUID().uuidString)")
        self.init(directory: unused, warehouse: warehouse, backend: backend)
    }

    /// Closes the warehouse's connections now (PostgreSQL), rather than when it is freed.
    public func close() async {
        if let postgres = warehouse as? PostgresWarehouse { await postgres.close() }
    }

    /// A fresh warehouse on `backend`: a new SQLite file, or a new schema on the test run's
    /// PostgreSQL server (``PostgresTestServer``), remembering at most `keyStateCapacity` keys'
    /// states (the default when `nil`).
    public static func open(
        _ backend: TestBackend,
        entity: EntityConfiguration = .customer,
        keyStateCapacity: Int? = nil
    ) async throws -> TestWarehouse {
        switch backend {
        case .sqlite:
            return try TestWarehouse(entity: entity, keyStateCapacity: keyStateCapacity)
        case .postgres:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-pg-\(UUID().uuidString)")
            let location = try await PostgresTestServer.freshSchema()
            let warehouse = try await PostgresWarehouse.open(
                location,
                entity: entity,
                maximumConnections: 2,
                keyStateCapacity: keyStateCapacity ?? KeyStateCache.defaultCapacity
            )
            return TestWarehouse(directory: directory, warehouse: warehouse, backend: backend)
        }
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
        if let postgres = warehouse as? PostgresWarehouse { Task { await postgres.close() } }
    }

    /// Loads a file in chunks of the given sizes (the rest in one chunk); `nil` when the
    /// warehouse skipped it as already loaded.
    @discardableResult
    public func load(_ file: TestFile, chunkSizes: [Int] = []) async throws -> LoadTicket? {
        guard case .load(let ticket) = try await warehouse.beginLoad(file.content) else { return nil }
        let records = file.records(load: ticket.id)
        for chunk in Self.chunks(records, sizes: chunkSizes) {
            try await warehouse.applyChunk(ticket, chunk)
        }
        loaded += records
        try await warehouse.finishLoad(ticket)
        return ticket
    }

    /// Loads files as one batch (``Warehouse/applyChunks(_:)``), each whole in one part, after
    /// applying the first `prefix` rows of the first file alone (a load resumed inside a
    /// batch: the part's rows up to there are skipped). Files already loaded are skipped;
    /// returns the batch's counts and the tickets of the files it loaded.
    @discardableResult
    public func loadTogether(_ files: [TestFile], prefix: Int = 0) async throws -> (BatchApplyCounts, [LoadTicket]) {
        let starts = try await warehouse.beginLoads(files.map { ($0.content, nil) })
        var parts: [ChunkApplication] = []
        var tickets: [LoadTicket] = []
        var arriving: [ChangeRecord] = []
        for (file, start) in zip(files, starts) {
            guard case .load(let ticket) = start, !tickets.contains(where: { $0.id == ticket.id }) else { continue }
            let records = file.records(load: ticket.id)
            let cut = tickets.isEmpty ? min(prefix, records.count) : 0
            if cut > 0 {
                try await warehouse.applyChunk(
                    ticket,
                    RecordChunk(records: Array(records[..<cut]), rejects: [], lastRow: Int64(cut))
                )
                loaded += records[..<cut]
            }
            arriving += records[cut...]
            parts.append(
                ChunkApplication(
                    ticket: ticket,
                    chunk: RecordChunk(records: records, rejects: [], lastRow: Int64(records.count)),
                    finishing: true
                )
            )
            tickets.append(ticket)
        }
        let counts = try await warehouse.applyChunks(parts)
        loaded += arriving
        return (counts, tickets)
    }

    /// Splits records into chunks of the given sizes, the remainder in a last chunk.
    public static func chunks(_ records: [ChangeRecord], sizes: [Int]) -> [RecordChunk] {
        var result: [RecordChunk] = []
        var start = 0
        for size in sizes + [records.count] where start < records.count {
            let end = min(records.count, start + max(1, size))
            result.append(RecordChunk(records: Array(records[start..<end]), rejects: [], lastRow: Int64(end)))
            start = end
        }
        return result
    }

    /// Runs SQL as another client of the database would (the `sqlite3` shell on the file),
    /// outside Firn: its DML on SCD1 must reach the stream.
    public func executeAsAnotherClient(_ sql: String) async throws {
        switch backend {
        case .sqlite:
            let shell = try DatabaseQueue(path: sqlite.path)
            try await shell.write { db in try db.execute(sql: sql) }
            try shell.close()
        case .postgres:
            let server = (warehouse as! PostgresWarehouse).server
            try PostgresTestServer.psql(server, sql)
        }
    }

    /// Notes records that reached the warehouse another way (manual DML through the stream).
    public func noteLoaded(_ records: [ChangeRecord]) {
        loaded += records
    }

    public func historyRows() async throws -> [[Cell]] {
        let sql = warehouse.entity.deletes == .record ? Self.historyWithDeletesSQL : Self.historySQL
        return try await warehouse.query(sql).result.rows.map { $0.map(Cell.init) }
    }

    public func currentRows() async throws -> [[Cell]] {
        try await warehouse.query(Self.currentSQL).result.rows.map { $0.map(Cell.init) }
    }

    /// Both tables, for before/after comparisons.
    public func snapshot() async throws -> [[Cell]] {
        try await historyRows() + [[.bytes(Array("--".utf8))]] + currentRows()
    }
}

/// Contract violations visible in the tables alone: overlapping versions, several current
/// versions, `is_current` disagreeing with `end_time`, SCD1 differing from the open versions.
/// Rows with `is_deleted` (a 12th column, under `deletes: record`) are not SCD1's, and there
/// a key's rows must also leave no gap, and never show two deleted spans in a row.
public func invariantViolations(history: [[Cell]], current: [[Cell]]) -> [String] {
    let open = Cell(Timestamp.openEnd.value)
    var problems: [String] = []
    var expectedCurrent: [[Cell]] = []
    for (index, row) in history.enumerated() {
        let isCurrent = row[10] == .integer(1)
        let isDeleted = row.count > 11 && row[11] == .integer(1)
        if isCurrent != (row[9] == open) { problems.append("is_current disagrees with end_time: \(row)") }
        if row[8].description >= row[9].description { problems.append("version ends before it starts: \(row)") }
        if isCurrent, !isDeleted { expectedCurrent.append(Array(row[0..<9])) }
        guard index > 0, history[index - 1][0] == row[0] else { continue }
        let previous = history[index - 1]
        if previous[9].description > row[8].description { problems.append("overlap: \(previous) and \(row)") }
        if previous[10] == .integer(1) { problems.append("two current versions: \(previous) and \(row)") }
        if row.count > 11, previous[9] != row[8] { problems.append("a gap under deletes: record: \(previous) and \(row)") }
        if isDeleted, previous[11] == .integer(1) { problems.append("two deleted spans in a row: \(previous) and \(row)") }
    }
    if expectedCurrent != current { problems.append("SCD1 \(current) is not the open versions \(expectedCurrent)") }
    return problems
}

/// Seeds for generated cases: `FIRN_SCD_SEED=<n>` replays the one case with that seed.
public func caseSeeds(count: Int, salt: UInt64) -> [UInt64] {
    if let text = ProcessInfo.processInfo.environment["FIRN_SCD_SEED"], let seed = UInt64(text) { return [seed] }
    return (0..<UInt64(count)).map { salt &* 1_000_003 &+ $0 }
}

/// A timestamp `seconds` (and a fraction) after 2024-03-01 00:00:00 UTC.
public func at(_ seconds: Int, micros: Int = 0) -> Timestamp {
    Timestamp(
        microseconds: Timestamp(year: 2024, month: 3, day: 1)!.microseconds + Int64(seconds) * 1_000_000 + Int64(micros)
    )
}

/// Seven customer attributes: the given first name, the rest fixed.
public func person(_ firstName: Value, city: Value = .text("Oslo")) -> [Value] {
    [firstName, .text("Smith"), .text("x@example.com"), .text("1 Main St"), city, .null, .text("NO")]
}

/// Seven customer attributes: the given first name, the rest fixed.
public func person(_ firstName: String, city: Value = .text("Oslo")) -> [Value] {
    person(.text(firstName), city: city)
}

extension StreamSnapshot {
    /// The customer stream's changes as `firn stream show` prints them.
    public var table: QueryResult { QueryResult(stream: changes, of: .customer) }
}

extension [Version] {
    /// Customer versions as the history table holds them.
    public var rows: [[Value]] { QueryResult(history: self, of: .customer).rows }
}

/// One warehouse on `backend` that a test opens several times, with an entity definition each
/// time (a SQLite file in a folder of its own, or one schema on the test server), as
/// successive runs of Firn would. Call `cleanUp` when done.
public struct ReopenableWarehouse: Sendable {
    public let open: @Sendable (EntityConfiguration) async throws -> TestWarehouse
    public let cleanUp: @Sendable () -> Void

    public static func make(_ backend: TestBackend) async throws -> ReopenableWarehouse {
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-reopen-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("firn.sqlite").path
            return ReopenableWarehouse(
                open: { entity in TestWarehouse(wrapping: try SQLiteWarehouse(path: path, entity: entity), backend: .sqlite) },
                cleanUp: { try? FileManager.default.removeItem(at: directory) }
            )
        case .postgres:
            let location = try await PostgresTestServer.freshSchema()
            return ReopenableWarehouse(
                open: { entity in
                    TestWarehouse(
                        wrapping: try await PostgresWarehouse.open(location, entity: entity, maximumConnections: 2),
                        backend: .postgres
                    )
                },
                cleanUp: {}
            )
        }
    }
}
