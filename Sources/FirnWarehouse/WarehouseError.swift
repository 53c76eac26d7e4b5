/// A warehouse operation that failed, with what the user should look at.
///
/// Every case says whether trying the same operation again may succeed (``mayRetry``): a
/// server that went away or a lock held by another process may clear; a statement refused or a
/// warehouse made for another entity will not.
public enum WarehouseError: Error, Sendable, CustomStringConvertible {
    /// The warehouse file or server could not be opened.
    case cannotOpen(location: String, reason: String)
    /// A statement failed; `sql` is the statement without bound values.
    case statementFailed(sql: String, reason: String)
    /// The warehouse is there but cannot be reached right now (a server restarting, the
    /// connection lost, another writer holding the lock past the timeout); retrying may help.
    case unavailable(location: String, reason: String)
    /// A load id that load history does not know.
    case unknownLoad(Int64)
    /// A load that is no longer in progress (another process marked it failed).
    case loadNotInProgress(Int64, status: String)
    /// The warehouse's tables were made by a different entity definition.
    case schemaMismatch(table: String, reason: String)
    /// The warehouse was written by a newer Firn (its schema version is past this one's).
    case newerSchema(location: String, version: Int, known: Int)
    /// The request names something that does not exist, or is not allowed; the message says which.
    case invalidRequest(String)

    public var description: String {
        switch self {
        case .cannotOpen(let location, let reason): "cannot open warehouse \(location): \(reason)"
        case .statementFailed(let sql, let reason): "\(reason) - while executing `\(sql)`"
        case .unavailable(let location, let reason): "warehouse \(location) is unavailable: \(reason)"
        case .unknownLoad(let id): "load \(id) is not in load history (firn_loads)"
        case .loadNotInProgress(let id, let status):
            "load \(id) is \(status), not loading (another process stopped it); load the file again to resume"
        case .invalidRequest(let message): message
        case .schemaMismatch(let table, let reason):
            "table \(table) does not match the entity configuration: \(reason)"
        case .newerSchema(let location, let version, let known):
            "warehouse \(location) has schema version \(version), newer than this firn knows (\(known)); upgrade firn"
        }
    }

    /// Whether the same operation may succeed if tried again later: `true` for a warehouse
    /// that is unavailable for now; `false` for a request or definition that is wrong, which
    /// will fail the same way.
    public var mayRetry: Bool {
        switch self {
        case .unavailable, .loadNotInProgress: true
        case .cannotOpen, .statementFailed, .unknownLoad, .schemaMismatch, .newerSchema, .invalidRequest: false
        }
    }
}
