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

    /// Whether a history view whose SQL (as the database returns it) shows another open end
    /// or another delete policy than the entity asks for, and so must be redefined.
    public func historyViewNeedsRedefinition(_ definition: String) -> Bool {
        definition.contains(Self.openEndSQL) != (entity.openEnd == .sentinel)
            || Self.historyViewShowsDeletedSpans(definition) != (entity.deletes == .record)
    }

    /// Whether a history view's SQL (as the database returns it) is `deletes: record`'s: only
    /// it names a column `AS is_deleted` (an attribute of that name is refused under record).
    public static func historyViewShowsDeletedSpans(_ definition: String) -> Bool {
        definition.contains("AS is_deleted")
    }

    /// `a.k = b.k AND …` over the key columns.
    public func keysEqual(_ left: String, _ right: String) -> String {
        keys.map { "\(left).\($0) = \(right).\($0)" }.joined(separator: " AND ")
    }

    /// The history view's last column under ``DeletePolicy/record``, for the arms that show
    /// versions; nothing otherwise.
    public func notDeletedColumn(integer: String) -> String {
        entity.deletes == .record ? ", 0\(integer) AS is_deleted" : ""
    }

    /// Under ``DeletePolicy/record``, the history view's arm that shows deleted spans;
    /// nothing otherwise (see ``DeletePolicy``).
    ///
    /// Only one record counts per key and event time, so versions never have zero length, and
    /// a version's end is a delete exactly when no version of its key starts there (as
    /// `SlowlyChangingHistory.countingRecords` reads it). Each such end starts a span with
    /// the ended version's attributes, up to the key's next start: the first closed version
    /// starting at or after it, else the open version (which starts after every closed one),
    /// as the view shows it (saved from before manual DML, or SCD1's row). No next start
    /// leaves the span open: it is the key's current row. Every lookup is by key, and a
    /// closed version that is not followed by a delete costs two (its key's next start, once).
    ///
    /// - Parameters:
    ///   - integer: The cast that makes a literal a 64-bit integer (`::bigint`, or nothing).
    ///   - text: The cast that makes NULL text (`::text`, or nothing).
    public func deletedSpansArm(integer: String, text: String) -> String {
        guard entity.deletes == .record else { return "" }
        let carried = (keys + attributes).map { "d.\($0)" }.joined(separator: ", ")
        return """

            UNION ALL
            SELECT \(keyList), \(attributesThenComma)end_time AS start_time, COALESCE(next_start, \(openEndInView)\(text)) AS end_time,
                CASE WHEN next_start IS NULL THEN 1 ELSE 0 END\(integer) AS is_current, 1\(integer) AS is_deleted
            FROM (
                SELECT \(carried), d.end_time, COALESCE(
                    (SELECT min(n.start_time) FROM \(closed) AS n WHERE \(keysEqual("n", "d")) AND n.start_time >= d.end_time),
                    (SELECT c.\(eventTime) FROM \(current) AS c WHERE \(keysEqual("c", "d"))
                        AND NOT EXISTS (SELECT 1 FROM \(beforeDML) AS b WHERE \(keysEqual("b", "c")))),
                    (SELECT b.\(eventTime) FROM \(beforeDML) AS b WHERE \(keysEqual("b", "d")) AND b._firn_absent = 0)
                ) AS next_start
                FROM \(closed) AS d
            ) AS spans
            WHERE COALESCE(next_start > end_time, TRUE)
            """
    }
}
