import FirnCore
import FirnWarehouse
import Foundation
import GRDB

/// The entity definition a warehouse's tables were made for, kept in `firn_entities`, so that a
/// config that changed since says what changed instead of failing later with raw SQL.
///
/// Entity and column names compare case-insensitively, as SQL's do: `Customer` and `customer`
/// are one entity, with one set of tables. The order of attributes does not matter (Firn names
/// every column it writes); names, types, keys, and the event-time and op columns do.
struct StoredEntityDefinition: Codable, Equatable {
    var keys: [StoredColumn]
    var attributes: [StoredColumn]
    var eventTime: String
    var op: String

    struct StoredColumn: Codable, Equatable {
        var name: String
        var type: String
    }

    init(_ entity: EntityConfiguration) {
        keys = entity.keyColumns.map { StoredColumn(name: $0.name.normalized, type: $0.type.rawValue) }
        attributes = entity.attributeColumns.map { StoredColumn(name: $0.name.normalized, type: $0.type.rawValue) }
        eventTime = entity.eventTimeColumn.normalized
        op = entity.operationColumn.normalized
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// What differs from `stored` (the warehouse's) to `self` (the config's), one phrase each;
    /// empty when they are the same entity.
    func differences(from stored: StoredEntityDefinition) -> [String] {
        func describe(_ columns: [StoredColumn]) -> String {
            columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
        }
        var found: [String] = []
        if keys != stored.keys {
            found.append("key was (\(describe(stored.keys))), now (\(describe(keys)))")
        }
        let before = Dictionary(stored.attributes.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(attributes.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        for column in attributes where before[column.name] == nil {
            found.append("attribute \(column.name) \(column.type) is new")
        }
        for column in stored.attributes where after[column.name] == nil {
            found.append("attribute \(column.name) is gone")
        }
        for column in attributes {
            if let old = before[column.name], old != column.type {
                found.append("attribute \(column.name) was \(old), now \(column.type)")
            }
        }
        if eventTime != stored.eventTime { found.append("event time column was \(stored.eventTime), now \(eventTime)") }
        if op != stored.op { found.append("op column was \(stored.op), now \(op)") }
        return found
    }
}

extension EntitySchema {
    static let entitiesTable = """
        CREATE TABLE IF NOT EXISTS firn_entities (
            name TEXT PRIMARY KEY,
            definition TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        )
        """

    /// Checks that the warehouse's tables were made for this entity definition, and records
    /// the definition when the entity is new (or its tables predate `firn_entities`).
    ///
    /// - Throws: ``WarehouseError/schemaMismatch(table:reason:)`` saying what changed.
    func checkDefinition(_ db: Database) throws {
        try db.execute(sql: Self.entitiesTable)
        let name = entity.name.normalized
        let mine = StoredEntityDefinition(entity)
        if let json = try String.fetchOne(db, sql: "SELECT definition FROM firn_entities WHERE name = ?", arguments: [name]) {
            guard let stored = try? JSONDecoder().decode(StoredEntityDefinition.self, from: Data(json.utf8)) else {
                throw WarehouseError.schemaMismatch(table: name, reason: "firn_entities holds an unreadable definition")
            }
            try refuse(mine.differences(from: stored))
            return
        }
        if try db.tableExists(entity.currentTable.normalized) {
            try refuse(try differencesFromTables(db))
        }
        try db.execute(
            sql: "INSERT INTO firn_entities (name, definition, recorded_at) VALUES (?, ?, \(Self.nowSQL))",
            arguments: [name, mine.json]
        )
    }

    /// A warehouse made before `firn_entities`: compares SCD1's and staging's columns with the
    /// entity's (types as SQLite stores them: integer and boolean as INTEGER, the rest TEXT).
    private func differencesFromTables(_ db: Database) throws -> [String] {
        let table = entity.currentTable.normalized
        var actual: [String: String] = [:]
        for column in try db.columns(in: table) { actual[column.name.lowercased()] = column.type.uppercased() }
        var expected: [String: String] = [:]
        for column in entity.keyColumns + entity.attributeColumns {
            expected[column.name.normalized] = Self.sqlType(column.type)
        }
        expected[entity.eventTimeColumn.normalized] = "TEXT"
        var found: [String] = []
        for (name, type) in expected.sorted(by: { $0.key < $1.key }) {
            if let have = actual[name] {
                if have != type { found.append("column \(name) is \(have) in \(table), the config makes it \(type)") }
            } else {
                found.append("column \(name) is new")
            }
        }
        for name in actual.keys.sorted() where expected[name] == nil {
            found.append("column \(name) is gone")
        }
        let raw = entity.rawTable.normalized
        if found.isEmpty, try db.tableExists(raw),
            try !db.columns(in: raw).contains(where: { $0.name.lowercased() == entity.operationColumn.normalized })
        {
            found.append("op column is not \(entity.operationColumn.normalized)")
        }
        return found
    }

    private func refuse(_ differences: [String]) throws {
        guard !differences.isEmpty else { return }
        throw WarehouseError.schemaMismatch(
            table: entity.currentTable.normalized,
            reason: "the warehouse was made for another definition of entity \(entity.name.normalized): "
                + differences.joined(separator: "; ")
                + ". Firn cannot change an entity's columns yet: put the config back as it was, "
                + "or point --data-dir (or --warehouse) at a new warehouse"
        )
    }
}
