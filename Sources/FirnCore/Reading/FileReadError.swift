/// A file that cannot be read as a whole, as opposed to a bad row (which becomes a ``RejectedRow``).
///
/// Every description is one line naming the file and saying what to do; the load is recorded
/// as failed with it.
public enum FileReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file could not be opened; `reason` is the system's error text.
    case cannotOpen(path: String, reason: String)
    /// Reading failed part way; `reason` is the system's error text.
    case cannotRead(path: String, reason: String)
    /// The file has 0 bytes.
    case empty(path: String)
    /// A NUL byte was found at `offset`: the file is binary, compressed or UTF-16, not UTF-8 text.
    case binary(path: String, offset: Int64)
    /// The CSV header row itself is malformed (an unclosed quote, for example).
    case malformedHeader(path: String, reason: String)
    /// The CSV header lacks these key columns.
    case missingKeyColumns(path: String, columns: [String])
    /// The CSV header lacks these attribute columns (each record is a full snapshot, so every
    /// attribute column is required).
    case missingAttributeColumns(path: String, columns: [String])
    /// The CSV header names a column twice (compared case-insensitively).
    case duplicateColumn(path: String, column: String)
    /// The file has columns (JSON Lines: members) the entity does not, and the entity says
    /// `schema_evolution: reject`.
    case unknownColumns(path: String, columns: [String], entity: String)
    /// Under `schema_evolution: evolve`, the file's new columns cannot be added to the entity:
    /// a name is not an identifier, is reserved, or is too long.
    case cannotAddColumns(path: String, columns: [String], reason: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .cannotOpen(let path, _), .cannotRead(let path, _), .empty(let path), .binary(let path, _),
            .malformedHeader(let path, _), .missingKeyColumns(let path, _), .missingAttributeColumns(let path, _),
            .duplicateColumn(let path, _), .unknownColumns(let path, _, _), .cannotAddColumns(let path, _, _):
            path
        }
    }

    /// One line naming the file, what is wrong and what to do.
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            "\(path): cannot open: \(reason); check that the file exists and is readable"
        case let .cannotRead(path, reason):
            "\(path): read failed: \(reason); check the disk, then load the file again"
        case let .empty(path):
            "\(path): the file is empty (0 bytes); write the header and rows before delivering it"
        case let .binary(path, offset):
            "\(path): not a text file (NUL byte at offset \(offset)); save it as UTF-8 CSV or JSON Lines"
        case let .malformedHeader(path, reason):
            "\(path): bad header row: \(reason); fix the first line"
        case let .missingKeyColumns(path, columns):
            "\(path): header lacks key column(s) \(columns.joined(separator: ", ")); add them to the first line"
        case let .missingAttributeColumns(path, columns):
            "\(path): header lacks attribute column(s) \(columns.joined(separator: ", ")); every row is a full "
                + "snapshot, so add them (an empty field is NULL)"
        case let .duplicateColumn(path, column):
            "\(path): header names column \(column) twice; keep one"
        case let .unknownColumns(path, columns, entity):
            "\(path): column(s) \(columns.joined(separator: ", ")) not in entity \(entity), which says "
                + "schema_evolution: reject; nothing was loaded: remove them from the file, or set schema_evolution: ignore"
        case let .cannotAddColumns(path, columns, reason):
            "\(path): new column(s) \(columns.joined(separator: ", ")) cannot be added to the entity (\(reason)); "
                + "no row from the first that has them on was loaded: rename them in the file, or set "
                + "schema_evolution: ignore, and load it again"
        }
    }
}
