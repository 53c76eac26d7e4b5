/// A warehouse operation that failed, with what the user should look at.
public enum WarehouseError: Error, Sendable, CustomStringConvertible {
    /// The warehouse file or server could not be opened.
    case cannotOpen(location: String, reason: String)
    /// A statement failed; `sql` is the statement without bound values.
    case statementFailed(sql: String, reason: String)
    /// A load id that load history does not know.
    case unknownLoad(Int64)
    /// A load that is no longer in progress (another process marked it failed).
    case loadNotInProgress(Int64, status: String)
    /// The warehouse's tables were made by a different entity definition.
    case schemaMismatch(table: String, reason: String)
    /// The request names something that does not exist, or is not allowed; the message says which.
    case invalidRequest(String)

    public var description: String {
        switch self {
        case .cannotOpen(let location, let reason): "cannot open warehouse \(location): \(reason)"
        case .statementFailed(let sql, let reason): "\(reason) - while executing `\(sql)`"
        case .unknownLoad(let id): "load \(id) is not in load history (firn_loads)"
        case .loadNotInProgress(let id, let status):
            "load \(id) is \(status), not loading (another process stopped it); load the file again to resume"
        case .invalidRequest(let message): message
        case .schemaMismatch(let table, let reason):
            "table \(table) does not match the entity configuration: \(reason)"
        }
    }
}
