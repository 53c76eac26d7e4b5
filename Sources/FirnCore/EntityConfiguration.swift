/// The type of an attribute or key column, and so how a field's text is checked and stored.
public enum ColumnType: String, Sendable, Hashable, Codable, CaseIterable {
    /// Any UTF-8 text, stored as is.
    case text
    /// A signed 64-bit integer (`-12`, `+7`); stored as an integer.
    case integer
    /// An exact decimal (`12.50`, `-0.5`, `1e3` is refused); stored as canonical text without
    /// trailing fraction zeros (`12.5`), so equal amounts compare equal.
    case decimal
    /// `true`/`false`, `t`/`f`, `yes`/`no`, `1`/`0` in any case; stored as `1`/`0`.
    case boolean
    /// A calendar date `YYYY-MM-DD`; stored as that text.
    case date
    /// An ISO-8601 timestamp; stored as UTC text `YYYY-MM-DD HH:MM:SS.ffffff`.
    case timestamp
}

/// What the history table shows as the end of an open version (config `open_end`).
public enum OpenEnd: String, Sendable, Hashable, Codable, CaseIterable {
    /// `9999-12-31 00:00:00`, the seed's convention (the default): open versions compare
    /// after every real time, so `end_time > t` finds the version in force at `t`.
    case sentinel
    /// NULL, as tools that treat a missing end as "still open" expect (dbt snapshots).
    case null
}

/// What history shows after a delete (config `deletes`).
public enum DeletePolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// The version in force ends at the delete and the key has no row until it comes back
    /// (the default; dbt's `invalidate`).
    case close
    /// The delete also shows as a row of its own, `is_deleted` 1, from the delete until the
    /// key comes back (or open), with the attributes of the version it ended, so a key's
    /// history has no gaps (dbt's `new_record`). Only what the history table shows: derived
    /// from the stored versions, so it can change between runs.
    case record
}

/// What a file with columns the entity does not have does (config `schema_evolution`).
public enum SchemaEvolution: String, Sendable, Hashable, Codable, CaseIterable {
    /// The columns are dropped, and named in the load's `warnings` in load history (the
    /// default).
    case ignore
    /// The file is refused as a whole, before any of its rows loads: the load fails with a
    /// reason naming the columns (JSON Lines: members, in any line).
    case reject
    /// The columns are added to the entity's tables (staging, SCD1, history, the change log)
    /// before the file's rows load, each typed by the narrowest type that every value of it in
    /// the file fits (``ColumnType/inferred(from:)``), and recorded in the warehouse's schema
    /// history. Versions before hold NULL in them, so a later record with NULL there changes
    /// nothing and one with a value opens a version. A column missing from a file is NULL for
    /// its records.
    case evolve
}

/// A named, typed column of an entity.
public struct Column: Sendable, Hashable, Codable {
    /// The column name: a validated SQL identifier, matched case-insensitively against file headers.
    public var name: Identifier
    /// The column's type. Defaults to ``ColumnType/text``.
    public var type: ColumnType

    /// Creates a column.
    public init(_ name: Identifier, _ type: ColumnType = .text) {
        self.name = name
        self.type = type
    }
}

/// An entity Firn keeps SCD1 and SCD2 tables for: its key, its attributes, and the columns
/// that carry event time and operation in input files.
///
/// The built-in ``customer`` entity needs no configuration. Other entities come from the
/// config file (see `FirnConfig`). Every name is an ``Identifier``, validated once, so no
/// configuration can inject SQL; table names derive from ``name``:
/// ``rawTable`` (`<name>_raw`), ``currentTable`` (`<name>`), ``historyTable`` (`<name>_history`).
public struct EntityConfiguration: Sendable, Hashable {
    /// The entity name; the SCD1 table has this name.
    public var name: Identifier
    /// The key columns, in order. At least one.
    public var keyColumns: [Column]
    /// The attribute columns, in order (everything an SCD version compares and keeps).
    public var attributeColumns: [Column]
    /// The event-time column in input files and in the SCD1 table. Defaults to `update_timestamp`.
    public var eventTimeColumn: Identifier
    /// The operation column in input files (`I`, `U` or `D`). Defaults to `op`.
    public var operationColumn: Identifier
    /// The end the history table shows for open versions. Only what the history table shows:
    /// Firn's own tables and reads keep the sentinel, so it can change between runs.
    public var openEnd: OpenEnd = .sentinel
    /// Whether history shows deleted spans as rows of their own (config `deletes`). Only what
    /// the history table shows, so it can change between runs.
    public var deletes: DeletePolicy = .close
    /// What a file with columns the entity does not have does (config `schema_evolution`).
    /// How files are read, not how history is kept, so it can change between runs.
    public var schemaEvolution: SchemaEvolution = .evolve
    /// Attributes whose changes update the version in force in place instead of opening a
    /// version (config `track_history`, `track_history_except`); names not among
    /// ``attributeColumns`` are ignored. Part of the entity's definition: history is kept
    /// under one policy.
    public var untrackedAttributes: Set<Identifier> = []
    /// What a NULL attribute of an upsert means (config `null_updates`). Part of the entity's
    /// definition.
    public var nullUpdates: NullUpdates = .apply
    /// Attributes the warehouse added to the configured ones (``SchemaEvolution/evolve``), at
    /// the end of ``attributeColumns``: files need not have them, whatever the policy (files
    /// written before a column appeared lack it), and a record without one holds NULL there.
    public var evolvedAttributes: Set<Identifier> = []
    /// Whether, under ``SchemaEvolution/evolve``, a value that fits no wider type but text
    /// turns its attribute into text (config `widen_to_text`, default `false`: such a value's
    /// row is rejected). An integer attribute becomes a decimal for a decimal value either way.
    /// How files are read, not how history is kept, so it can change between runs.
    public var widenToText = false
    /// The type each attribute the warehouse widened had before it was first widened
    /// (``ColumnType/widens(to:)``), by name: a record read before the change holds values
    /// of that type (``Value/widened(from:to:)`` converts them).
    public var widenedAttributes: [Identifier: ColumnType] = [:]

    /// The policy history is kept under (``untrackedAttributes``, ``nullUpdates``).
    public var historyPolicy: HistoryPolicy {
        HistoryPolicy(
            untracked: attributeColumns.indices.filter { untrackedAttributes.contains(attributeColumns[$0].name) },
            nullUpdates: nullUpdates
        )
    }

    /// Creates an entity configuration, checking that column names are distinct and that
    /// derived table names are valid identifiers.
    ///
    /// - Throws: ``ConfigurationError`` naming the offending column or table.
    public init(
        name: Identifier,
        keyColumns: [Column],
        attributeColumns: [Column],
        eventTimeColumn: Identifier = "update_timestamp",
        operationColumn: Identifier = "op"
    ) throws(ConfigurationError) {
        guard !keyColumns.isEmpty else { throw .invalid("entity \(name): at least one key column is required") }
        var seen = Set<String>()
        let all = keyColumns.map(\.name) + attributeColumns.map(\.name) + [eventTimeColumn, operationColumn]
        for column in all {
            guard seen.insert(column.normalized).inserted else {
                throw .invalid("entity \(name): column \(column) is declared twice")
            }
            guard !column.normalized.hasPrefix("_firn") else {
                throw .invalid("entity \(name): column \(column): names starting with _firn are reserved")
            }
        }
        for reserved in EntityConfiguration.reservedColumns where seen.contains(reserved) {
            throw .invalid("entity \(name): column \(reserved) is reserved by Firn's tables; rename it")
        }
        guard !name.normalized.hasPrefix("firn_") else {
            throw .invalid("entity \(name): names starting with firn_ are Firn's own tables; rename it")
        }
        // As long as the longest name Firn derives (`_history_earlier`, `_history_by_key` are shorter or as long).
        _ = try Identifier(validating: name.rawValue + "_history_changes")
        // The change log keeps before and after images as old_<column> and new_<column>.
        for column in keyColumns.map(\.name) + attributeColumns.map(\.name) + [eventTimeColumn] {
            guard column.rawValue.unicodeScalars.count <= 59 else {
                throw .invalid("entity \(name): column \(column) is longer than 59 characters (Firn adds old_/new_)")
            }
        }
        self.name = name
        self.keyColumns = keyColumns
        self.attributeColumns = attributeColumns
        self.eventTimeColumn = eventTimeColumn
        self.operationColumn = operationColumn
    }

    /// Column names Firn adds to an entity's tables, which an entity may not use itself.
    public static let reservedColumns: Set<String> = [
        "start_time", "end_time", "is_current", "load_id", "source_file", "source_row", "loaded_at", "chunk_id",
    ]

    /// The seed's customer: integer `customer_id`, eight text attributes, `update_timestamp`, `op`.
    public static let customer: EntityConfiguration = try! EntityConfiguration(
        name: "customer",
        keyColumns: [Column("customer_id", .integer)],
        attributeColumns: ["first_name", "last_name", "email", "street", "city", "state", "country"].map {
            Column(Identifier(stringLiteral: $0), .text)
        }
    )

    /// Whether the entity has `other`'s name and columns, whatever its options (``openEnd``,
    /// ``deletes``, the history policy): files written for one are the other's.
    public func hasShape(of other: EntityConfiguration) -> Bool {
        name == other.name && keyColumns == other.keyColumns && attributeColumns == other.attributeColumns
            && eventTimeColumn == other.eventTimeColumn && operationColumn == other.operationColumn
    }

    /// The entity with `columns` added at the end of its attributes, as evolved ones.
    ///
    /// - Throws: ``ConfigurationError`` when a name is taken (by a column or Firn's tables),
    ///   reserved, or too long, as for configured columns.
    public func addingEvolved(_ columns: [Column]) throws(ConfigurationError) -> EntityConfiguration {
        // The same checks as for configured columns; every option carries over with `self`.
        _ = try EntityConfiguration(
            name: name,
            keyColumns: keyColumns,
            attributeColumns: attributeColumns + columns,
            eventTimeColumn: eventTimeColumn,
            operationColumn: operationColumn
        )
        var grown = self
        grown.attributeColumns += columns
        grown.evolvedAttributes.formUnion(columns.map(\.name))
        if deletes == .record, columns.contains(where: { $0.name.normalized == "is_deleted" }) {
            throw .invalid("entity \(name): column is_deleted is history's own under deletes: record")
        }
        return grown
    }

    /// Whether a file may lack the attribute (its records then hold NULL in it): every
    /// attribute under ``SchemaEvolution/evolve``, evolved ones always.
    public func mayLack(_ attribute: Column) -> Bool {
        schemaEvolution == .evolve || evolvedAttributes.contains(attribute.name)
    }

    /// Staging: every accepted row with its source. `<name>_raw`.
    public var rawTable: Identifier { name.suffixed("_raw") }
    /// SCD Type 1: one row per live key. `<name>`.
    public var currentTable: Identifier { name }
    /// SCD Type 2: every version. `<name>_history`.
    public var historyTable: Identifier { name.suffixed("_history") }
    /// Where a warehouse may keep closed versions apart from open ones (the SQLite warehouse's
    /// `<name>_history` is a view over this table and the SCD1 table). `<name>_history_closed`.
    public var closedHistoryTable: Identifier { name.suffixed("_history_closed") }
    /// SCD1 rows as history last had them, for keys that manual DML has changed since (until
    /// the stream is consumed). `<name>_before_dml`.
    public var beforeDMLTable: Identifier { name.suffixed("_before_dml") }
    /// Records that counted but changed nothing (an upsert equal to the version in force, a
    /// delete with none), kept so that late records can be placed without reading staging.
    /// `<name>_unchanged`.
    public var unchangedTable: Identifier { name.suffixed("_unchanged") }
    /// Records that arrived after a record of their key with a later event time, by key, so
    /// that a key's history can show them as late. `<name>_late`.
    public var lateTable: Identifier { name.suffixed("_late") }
    /// The change log behind the stream on the SCD1 table. `<name>_changes`.
    public var changesTable: Identifier { name.suffixed("_changes") }
    /// The stream's name, as `firn stream show` prints it. `<name>_stream`.
    public var streamName: Identifier { name.suffixed("_stream") }

    /// All input columns: keys, attributes, event time, operation.
    public var inputColumns: [Identifier] {
        keyColumns.map(\.name) + attributeColumns.map(\.name) + [eventTimeColumn, operationColumn]
    }
}

/// A configuration that cannot be used, with the reason.
public enum ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The configuration is invalid; the message names the entity, column or setting.
    case invalid(String)

    public var description: String { "invalid configuration: \(message)" }

    /// What is wrong, without the `invalid configuration:` prefix (for a command's own line).
    public var message: String {
        switch self {
        case .invalid(let message): message
        }
    }
}
