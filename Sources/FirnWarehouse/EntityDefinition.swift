import FirnCore
import Foundation

/// The entity definition a warehouse's tables were made for, kept in `firn_entities`, so that a
/// config that changed since says what changed instead of failing later with raw SQL.
///
/// Entity and column names compare case-insensitively, as SQL's do: `Customer` and `customer`
/// are one entity, with one set of tables. The order of attributes does not matter (Firn names
/// every column it writes); names, types, keys, and the event-time and op columns do, and so
/// does the history policy (untracked attributes, `null_updates`): history is a function of
/// the records under one policy, so one kept under another would not be what the config says.
public struct StoredEntityDefinition: Codable, Equatable, Sendable {
    var keys: [StoredColumn]
    /// The attributes, in configured order.
    public internal(set) var attributes: [StoredColumn]
    var eventTime: String
    var op: String
    /// Untracked attributes, sorted; absent when every attribute is tracked (as in definitions
    /// stored before the option).
    var untracked: [String]?
    /// `null_updates`; absent for `apply`.
    var nullUpdates: String?

    public struct StoredColumn: Codable, Equatable, Sendable {
        /// The normalized name.
        public var name: String
        /// The ``ColumnType`` raw value.
        public var type: String
    }

    /// The definition of `entity`.
    public init(_ entity: EntityConfiguration) {
        keys = entity.keyColumns.map { StoredColumn(name: $0.name.normalized, type: $0.type.rawValue) }
        attributes = entity.attributeColumns.map { StoredColumn(name: $0.name.normalized, type: $0.type.rawValue) }
        eventTime = entity.eventTimeColumn.normalized
        op = entity.operationColumn.normalized
        let untrackedNames = entity.attributeColumns.map(\.name).filter(entity.untrackedAttributes.contains).map(
            \.normalized
        )
        untracked = untrackedNames.isEmpty ? nil : untrackedNames.sorted()
        nullUpdates = entity.nullUpdates == .apply ? nil : entity.nullUpdates.rawValue
    }

    /// The definition as stored: JSON with sorted keys.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// What differs from `stored` (the warehouse's) to `self` (the config's), one phrase each;
    /// empty when they are the same entity.
    public func differences(from stored: StoredEntityDefinition) -> [String] {
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
        if untracked != stored.untracked {
            let describe = { (names: [String]?) in names.map { "(\($0.joined(separator: ", ")))" } ?? "none" }
            found.append("untracked attributes were \(describe(stored.untracked)), now \(describe(untracked))")
        }
        if nullUpdates != stored.nullUpdates {
            found.append("null_updates was \(stored.nullUpdates ?? "apply"), now \(nullUpdates ?? "apply")")
        }
        return found
    }
}

extension WarehouseError {
    /// A warehouse made for another definition of `entity`, with what differs.
    public static func definitionChanged(_ entity: EntityConfiguration, _ differences: [String]) -> WarehouseError {
        .schemaMismatch(
            table: entity.currentTable.normalized,
            reason: "the warehouse was made for another definition of entity \(entity.name.normalized): "
                + differences.joined(separator: "; ")
                + ". Firn only adds attributes, and widens their types for files' values (schema_evolution: evolve): "
                + "put the config back as it was, "
                + "or point --data-dir (or --warehouse) at a new warehouse"
        )
    }
}
