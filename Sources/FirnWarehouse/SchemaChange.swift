import FirnCore

/// One change of an entity's shape, as a warehouse's schema history (`firn_schema_history`)
/// keeps it: an attribute added under ``SchemaEvolution/evolve``, by a file or by the config.
public struct SchemaChange: Sendable, Hashable {
    /// The entity.
    public var entity: String
    /// The entity's shape version this change made: 1 for its first change, then 2, …
    /// (0 is the shape its config first had).
    public var version: Int
    /// The attribute added.
    public var column: Column
    /// The file (or object key) whose columns it added, or ``SchemaChange/fromConfig``.
    public var file: String
    /// When it was made.
    public var at: Timestamp

    /// What ``file`` holds for an attribute the config declared.
    public static let fromConfig = "(config)"

    /// Creates a change.
    public init(entity: String, version: Int, column: Column, file: String, at: Timestamp) {
        self.entity = entity
        self.version = version
        self.column = column
        self.file = file
        self.at = at
    }

    /// One line: `added attribute tier integer`.
    public var summary: String { "added attribute \(column.name) \(column.type.rawValue)" }
}

/// How an entity's configured definition, its definition as the warehouse first recorded it,
/// and the attributes added since combine when a warehouse opens.
public enum EntityShape {
    /// The entity a warehouse works with, and the attributes its tables still need.
    ///
    /// - Parameters:
    ///   - configured: The entity as the config (or the built-in customer) defines it.
    ///   - stored: The definition `firn_entities` holds, or `nil` for an entity new to the
    ///     warehouse.
    ///   - evolved: The attributes schema history says were added, in order.
    /// - Returns: The configured entity with the evolved attributes it does not declare
    ///   appended (as ``EntityConfiguration/evolvedAttributes``), and the attributes the config
    ///   declares that the tables lack (added under ``SchemaEvolution/evolve`` only).
    /// - Throws: ``WarehouseError/schemaMismatch(table:reason:)`` for any other difference
    ///   (keys, a type, an attribute gone, the history policy), or new attributes without
    ///   `schema_evolution: evolve`.
    public static func reconcile(
        configured: EntityConfiguration,
        stored: StoredEntityDefinition?,
        evolved: [Column]
    ) throws(WarehouseError) -> (entity: EntityConfiguration, toAdd: [Column]) {
        guard var stored else { return (configured, []) }
        let storedNames = Set(stored.attributes.map(\.name))
        let extra = evolved.filter { !storedNames.contains($0.name.normalized) }
        stored.attributes += extra.map { StoredEntityDefinition.StoredColumn(name: $0.name.normalized, type: $0.type.rawValue) }
        let known = Set(stored.attributes.map(\.name))
        let toAdd = configured.attributeColumns.filter { !known.contains($0.name.normalized) }
        let undeclared = extra.filter { column in !configured.attributeColumns.contains { $0.name == column.name } }
        var compared = StoredEntityDefinition(configured)
        compared.attributes += undeclared.map {
            StoredEntityDefinition.StoredColumn(name: $0.name.normalized, type: $0.type.rawValue)
        }
        let differences = compared.differences(from: stored)
        // A new attribute is the one change Firn makes, under evolve.
        let addable = Set(toAdd.map { "attribute \($0.name.normalized) \($0.type.rawValue) is new" })
        let blocking = configured.schemaEvolution == .evolve ? differences.filter { !addable.contains($0) } : differences
        guard blocking.isEmpty else {
            throw .definitionChanged(
                configured,
                differences.map { addable.contains($0) ? $0 + " (schema_evolution: evolve adds it)" : $0 }
            )
        }
        return (try current(configured: configured, evolved: extra), toAdd)
    }
}

extension EntityShape {
    /// The configured entity with the evolved attributes it does not declare appended, as a
    /// warehouse works with it.
    ///
    /// - Throws: ``WarehouseError/schemaMismatch(table:reason:)`` when an evolved name clashes.
    public static func current(
        configured: EntityConfiguration,
        evolved: [Column]
    ) throws(WarehouseError) -> EntityConfiguration {
        let undeclared = evolved.filter { column in !configured.attributeColumns.contains { $0.name == column.name } }
        do {
            return try configured.addingEvolved(undeclared)
        } catch {
            throw .schemaMismatch(table: configured.currentTable.normalized, reason: error.description)
        }
    }

    /// What adding `columns` to an entity whose SCD1 table has the `present` columns (lower
    /// case) does: the columns the tables lack (each once, in order), and the entity after;
    /// `nil` when the tables have them all (another writer added them).
    ///
    /// An attribute the config declares may lack its columns (they are added as the warehouse
    /// opens): it is the entity's already, and only its columns are made.
    ///
    /// - Throws: ``WarehouseError/invalidRequest(_:)`` for a name that cannot be a column.
    public static func adding(
        _ columns: [Column],
        to entity: EntityConfiguration,
        present: Set<String>
    ) throws(WarehouseError) -> (fresh: [Column], grown: EntityConfiguration)? {
        var fresh: [Column] = []
        for column in columns where !present.contains(column.name.normalized) {
            if !fresh.contains(where: { $0.name == column.name }) { fresh.append(column) }
        }
        guard !fresh.isEmpty else { return nil }
        let known = entity.attributeColumns
        do {
            return (fresh, try entity.addingEvolved(fresh.filter { column in !known.contains { $0.name == column.name } }))
        } catch {
            throw .invalidRequest(error.description)
        }
    }
}

extension Array where Element == ChangeRecord {
    /// Gives records read before attributes were added (they hold fewer than `width`) NULL in
    /// the new ones: a file without a column is NULL in it, by the contract.
    public mutating func padAttributes(to width: Int) {
        for index in indices where self[index].attributes.count < width {
            self[index].attributes.append(contentsOf: repeatElement(.null, count: width - self[index].attributes.count))
        }
    }
}
