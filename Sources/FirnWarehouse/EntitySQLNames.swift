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

    /// The open end as an SQL literal: what Firn's own tables and reads keep for an open version.
    public static var openEndSQL: String { "'\(Timestamp.openEnd.description)'" }

    /// What the history view shows as the end of an open version (``EntityConfiguration/openEnd``).
    public var openEndInView: String { entity.openEnd == .null ? "NULL" : Self.openEndSQL }

    /// Whether a history view whose SQL (as the database returns it) is `definition` shows the
    /// other open end than the entity asks for, and so must be redefined.
    public func historyViewShowsOtherOpenEnd(_ definition: String) -> Bool {
        definition.contains(Self.openEndSQL) != (entity.openEnd == .sentinel)
    }
}
