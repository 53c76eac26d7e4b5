import FirnCore
import FirnWarehouse
import Foundation
import GRDB

extension EntitySchema {
    static let entitiesTable = """
        CREATE TABLE IF NOT EXISTS firn_entities (
            name TEXT PRIMARY KEY,
            definition TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        )
        """

    /// The definition `firn_entities` holds for the entity, or `nil` when it holds none.
    func storedDefinition(_ db: Database) throws -> StoredEntityDefinition? {
        try db.execute(sql: Self.entitiesTable)
        let name = entity.name.normalized
        guard let json = try String.fetchOne(db, sql: "SELECT definition FROM firn_entities WHERE name = ?", arguments: [name])
        else { return nil }
        guard let stored = try? JSONDecoder().decode(StoredEntityDefinition.self, from: Data(json.utf8)) else {
            throw WarehouseError.schemaMismatch(table: name, reason: "firn_entities holds an unreadable definition")
        }
        return stored
    }

    /// Checks that the warehouse's tables were made for this entity definition, and records
    /// the definition when the entity is new (or its tables predate `firn_entities`).
    ///
    /// - Throws: ``WarehouseError/schemaMismatch(table:reason:)`` saying what changed.
    func checkDefinition(_ db: Database) throws {
        let name = entity.name.normalized
        let mine = StoredEntityDefinition(entity)
        if let stored = try storedDefinition(db) {
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
        throw WarehouseError.definitionChanged(entity, differences)
    }
}
