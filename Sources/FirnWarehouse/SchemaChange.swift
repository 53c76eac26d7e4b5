import FirnCore

/// One change of an entity's shape, as a warehouse's schema history (`firn_schema_history`)
/// keeps it: an attribute added under ``SchemaEvolution/evolve``, by a file or by the config,
/// or an attribute's type widened for a file's values.
public struct SchemaChange: Sendable, Hashable {
    /// What a change did.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// An attribute was added (`add` in the table).
        case added = "add"
        /// An attribute's type was widened (`widen` in the table).
        case widened = "widen"
    }

    /// The entity.
    public var entity: String
    /// The entity's shape version this change made: 1 for its first change, then 2, …
    /// (0 is the shape its config first had).
    public var version: Int
    /// What it did.
    public var kind: Kind
    /// The attribute added, or the attribute with its type after widening.
    public var column: Column
    /// The attribute's type before a widening; `nil` for an added one.
    public var previousType: ColumnType?
    /// The file (or object key) whose columns or values made the change, or
    /// ``SchemaChange/fromConfig``.
    public var file: String
    /// When it was made.
    public var at: Timestamp

    /// What ``file`` holds for an attribute the config declared.
    public static let fromConfig = "(config)"

    /// Creates a change.
    public init(
        entity: String,
        version: Int,
        kind: Kind = .added,
        column: Column,
        previousType: ColumnType? = nil,
        file: String,
        at: Timestamp
    ) {
        self.entity = entity
        self.version = version
        self.kind = kind
        self.column = column
        self.previousType = previousType
        self.file = file
        self.at = at
    }

    /// One line: `added attribute tier integer`, `widened attribute points integer to decimal`.
    public var summary: String {
        switch kind {
        case .added: "added attribute \(column.name) \(column.type.rawValue)"
        case .widened:
            "widened attribute \(column.name) \(previousType.map { $0.rawValue + " " } ?? "")to \(column.type.rawValue)"
        }
    }

    /// Schema history's rows (oldest first, as `(change, column, type, file, at)` the table
    /// holds them) as changes, each widening with the type its attribute had before (from the
    /// configured entity or the change that added it).
    ///
    /// - Throws: ``WarehouseError/schemaMismatch(table:reason:)`` for a change or type this
    ///   version of Firn does not know.
    public static func changes(
        of configured: EntityConfiguration,
        rows: [(version: Int, change: String, column: String, type: String, file: String, at: String)]
    ) throws(WarehouseError) -> [SchemaChange] {
        var types = Dictionary(
            configured.attributeColumns.map { ($0.name, $0.type) },
            uniquingKeysWith: { first, _ in first }
        )
        var changes: [SchemaChange] = []
        for row in rows {
            guard let kind = Kind(rawValue: row.change), let type = ColumnType(rawValue: row.type) else {
                throw .schemaMismatch(
                    table: "firn_schema_history",
                    reason:
                        "change \(row.change) of column \(row.column) to type \(row.type) is unknown to this version of Firn"
                )
            }
            let name = Identifier(stringLiteral: row.column)
            let previous = kind == .widened ? types[name] : nil
            types[name] = type
            changes.append(
                SchemaChange(
                    entity: configured.name.normalized,
                    version: row.version,
                    kind: kind,
                    column: Column(name, type),
                    previousType: previous,
                    file: row.file,
                    at: Timestamp(canonical: row.at) ?? Timestamp(microseconds: 0)
                )
            )
        }
        return changes
    }
}

/// What schema history says happened to an entity since its config first defined it.
public struct EntityEvolution: Sendable, Hashable {
    /// The attributes added, in order, each with the type it was added with.
    public var added: [Column] = []
    /// The widenings, in order, each attribute with its type after.
    public var widened: [Column] = []

    /// Nothing happened.
    public init() {}

    /// The evolution schema history's changes describe.
    public init(_ changes: [SchemaChange]) {
        for change in changes {
            switch change.kind {
            case .added: added.append(change.column)
            case .widened: widened.append(change.column)
            }
        }
    }

    /// The type each widened attribute has now, by name.
    var finalTypes: [Identifier: ColumnType] {
        Dictionary(widened.map { ($0.name, $0.type) }, uniquingKeysWith: { _, last in last })
    }
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
        evolution: EntityEvolution
    ) throws(WarehouseError) -> (entity: EntityConfiguration, toAdd: [Column]) {
        guard var stored else { return (configured, []) }
        let storedNames = Set(stored.attributes.map(\.name))
        let extra = evolution.added.filter { !storedNames.contains($0.name.normalized) }
        stored.attributes += extra.map {
            StoredEntityDefinition.StoredColumn(name: $0.name.normalized, type: $0.type.rawValue)
        }
        let known = Set(stored.attributes.map(\.name))
        let toAdd = configured.attributeColumns.filter { !known.contains($0.name.normalized) }
        let undeclared = extra.filter { column in !configured.attributeColumns.contains { $0.name == column.name } }
        var compared = StoredEntityDefinition(configured)
        compared.attributes += undeclared.map {
            StoredEntityDefinition.StoredColumn(name: $0.name.normalized, type: $0.type.rawValue)
        }
        // A widened attribute has its wider type; the config may still give the narrower one.
        let widened = evolution.finalTypes
        func widen(_ columns: inout [StoredEntityDefinition.StoredColumn], evenIfNarrower: Bool) {
            for index in columns.indices {
                guard let wider = widened[Identifier(stringLiteral: columns[index].name)] else { continue }
                let type = ColumnType(rawValue: columns[index].type)
                if evenIfNarrower || type.map({ $0.widens(to: wider) }) == true { columns[index].type = wider.rawValue }
            }
        }
        widen(&stored.attributes, evenIfNarrower: true)
        widen(&compared.attributes, evenIfNarrower: false)
        let differences = compared.differences(from: stored)
        // A new attribute is the one change Firn makes, under evolve.
        let addable = Set(toAdd.map { "attribute \($0.name.normalized) \($0.type.rawValue) is new" })
        let blocking =
            configured.schemaEvolution == .evolve ? differences.filter { !addable.contains($0) } : differences
        guard blocking.isEmpty else {
            throw .definitionChanged(
                configured,
                differences.map { addable.contains($0) ? $0 + " (schema_evolution: evolve adds it)" : $0 }
            )
        }
        return (
            try current(configured: configured, evolution: EntityEvolution(added: extra, widened: evolution.widened)),
            toAdd
        )
    }
}

extension EntityShape {
    /// The configured entity with the evolved attributes it does not declare appended, as a
    /// warehouse works with it.
    ///
    /// - Throws: ``WarehouseError/schemaMismatch(table:reason:)`` when an evolved name clashes.
    public static func current(
        configured: EntityConfiguration,
        evolution: EntityEvolution
    ) throws(WarehouseError) -> EntityConfiguration {
        let undeclared = evolution.added.filter { column in
            !configured.attributeColumns.contains { $0.name == column.name }
        }
        do {
            return try configured.addingEvolved(undeclared).widening(evolution.widened).entity
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
            return (
                fresh, try entity.addingEvolved(fresh.filter { column in !known.contains { $0.name == column.name } })
            )
        } catch {
            throw .invalidRequest(error.description)
        }
    }
}

extension EntityShape {
    /// What widening `columns` does to an entity (``EntityConfiguration/widening(_:)``): the
    /// entity after, and the attributes that changed with the type each had.
    ///
    /// - Throws: ``WarehouseError/invalidRequest(_:)`` for a name that is not an attribute
    ///   (keys never widen).
    public static func widening(
        _ columns: [Column],
        of entity: EntityConfiguration
    ) throws(WarehouseError) -> (entity: EntityConfiguration, changed: [(column: Column, from: ColumnType)]) {
        for column in columns where !entity.attributeColumns.contains(where: { $0.name == column.name }) {
            throw .invalidRequest("\(column.name) is not an attribute of \(entity.name); only attributes widen")
        }
        return entity.widening(columns)
    }
}

extension EntityEvolution {
    init(added: [Column], widened: [Column]) {
        self.added = added
        self.widened = widened
    }
}

extension Array where Element == ChangeRecord {
    /// Gives records read before attributes were widened the values the wider types hold
    /// (``Value/widened(from:to:)``): an integer read for a column that is now a decimal
    /// becomes its text, as the column's stored values did.
    public mutating func conformAttributes(to entity: EntityConfiguration) {
        guard !entity.widenedAttributes.isEmpty else { return }
        let conversions: [(index: Int, from: ColumnType, to: ColumnType)] = entity.attributeColumns.indices.compactMap {
            let column = entity.attributeColumns[$0]
            guard let from = entity.widenedAttributes[column.name], from == .integer || from == .boolean else {
                return nil
            }
            return ($0, from, column.type)
        }
        guard !conversions.isEmpty else { return }
        for record in indices {
            for conversion in conversions where conversion.index < self[record].attributes.count {
                if case .integer = self[record].attributes[conversion.index] {
                    self[record].attributes[conversion.index] =
                        self[record].attributes[conversion.index].widened(from: conversion.from, to: conversion.to)
                }
            }
        }
    }

    /// Gives records read before attributes were added (they hold fewer than `width`) NULL in
    /// the new ones: a file without a column is NULL in it, by the contract.
    public mutating func padAttributes(to width: Int) {
        // Looked for first: the loop below makes the array unique before it starts (a copy of
        // every record when the caller still holds it), even when no record is short.
        guard contains(where: { $0.attributes.count < width }) else { return }
        for index in indices where self[index].attributes.count < width {
            self[index].attributes.append(contentsOf: repeatElement(.null, count: width - self[index].attributes.count))
        }
    }
}
