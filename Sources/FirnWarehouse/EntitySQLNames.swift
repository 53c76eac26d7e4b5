import FirnCore

/// The quoted SQL names of an entity's columns and tables, the same on every backend (both
/// quote identifiers with double quotes): a backend's schema type conforms and gets them.
public protocol EntitySQLNames {
    /// The entity the names are of.
    var entity: EntityConfiguration { get }
}

extension EntitySQLNames {
    public var keys: [String] { entity.keyColumns.map(\.name.quoted) }
    public var attributes: [String] { entity.attributeColumns.map(\.name.quoted) }
    public var eventTime: String { entity.eventTimeColumn.quoted }
    public var op: String { entity.operationColumn.quoted }
    public var raw: String { entity.rawTable.quoted }
    public var current: String { entity.currentTable.quoted }
    public var history: String { entity.historyTable.quoted }
    public var closed: String { entity.closedHistoryTable.quoted }
    public var beforeDML: String { entity.beforeDMLTable.quoted }
    public var changes: String { entity.changesTable.quoted }
    public var unchanged: String { entity.unchangedTable.quoted }
    public var late: String { entity.lateTable.quoted }
    /// The key columns, comma-separated.
    public var keyList: String { keys.joined(separator: ", ") }
    /// The attribute columns, comma-separated.
    public var attributeList: String { attributes.joined(separator: ", ") }
    /// The attribute columns and a comma, or nothing when the entity has none.
    public var attributesThenComma: String { attributes.isEmpty ? "" : attributeList + ", " }
}
