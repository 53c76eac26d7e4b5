/// A validated SQL identifier: a table or column name that can be spliced into SQL safely.
///
/// Valid identifiers start with an ASCII letter or `_`, continue with ASCII letters, digits
/// or `_`, are at most 63 characters long (PostgreSQL's limit) and are not SQL keywords that
/// would need quoting. Firn still quotes every identifier it splices (``quoted``), so this
/// is belt and braces: a configuration can never inject SQL. Comparison is case-insensitive
/// (``normalized`` is lower case), as SQL's unquoted names are.
public struct Identifier: Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The name as written in the configuration.
    public let rawValue: String

    /// Validates a name.
    ///
    /// - Throws: ``ConfigurationError`` saying what is wrong with the name.
    public init(validating name: String) throws(ConfigurationError) {
        guard let first = name.unicodeScalars.first else { throw .invalid("an empty name is not an identifier") }
        guard name.unicodeScalars.count <= 63 else {
            throw .invalid("name \(name.debugDescription) is longer than 63 characters")
        }
        func isLetter(_ s: Unicode.Scalar) -> Bool { ("a"..."z").contains(s) || ("A"..."Z").contains(s) || s == "_" }
        guard isLetter(first), name.unicodeScalars.allSatisfy({ isLetter($0) || ("0"..."9").contains($0) }) else {
            throw .invalid(
                "name \(name.debugDescription) is not an identifier: use letters, digits and _, starting with a letter"
            )
        }
        guard !Identifier.keywords.contains(name.lowercased()) else {
            throw .invalid("name \(name.debugDescription) is an SQL keyword; choose another")
        }
        self.rawValue = name
    }

    /// A literal identifier in Firn's own code; traps if invalid (a programming error).
    public init(stringLiteral value: String) {
        do { try self.init(validating: value) } catch { preconditionFailure("\(error)") }
    }

    /// Decodes and validates a name.
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        try self.init(validating: name)
    }

    /// Encodes the name as written.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The lower-case form used for matching file headers and comparing names.
    public var normalized: String { rawValue.lowercased() }

    /// The identifier in double quotes, ready to splice into SQL.
    public var quoted: String { "\"\(normalized)\"" }

    public var description: String { normalized }

    public static func == (lhs: Identifier, rhs: Identifier) -> Bool { lhs.normalized == rhs.normalized }
    public func hash(into hasher: inout Hasher) { hasher.combine(normalized) }

    /// This identifier with a suffix (`customer` + `_raw`); traps if the result is too long,
    /// which ``EntityConfiguration/init(name:keyColumns:attributeColumns:eventTimeColumn:operationColumn:)``
    /// rules out beforehand.
    public func suffixed(_ suffix: String) -> Identifier {
        Identifier(stringLiteral: normalized + suffix)
    }

    static let keywords: Set<String> = [
        "all", "alter", "and", "as", "asc", "between", "by", "case", "check", "column", "constraint", "create",
        "cross", "default", "delete", "desc", "distinct", "drop", "else", "end", "except", "exists", "foreign",
        "from", "full", "group", "having", "in", "index", "inner", "insert", "intersect", "into", "is", "join",
        "key", "left", "like", "limit", "natural", "not", "null", "offset", "on", "or", "order", "outer",
        "primary", "references", "right", "select", "set", "table", "then", "to", "union", "unique", "update",
        "using", "values", "when", "where", "with",
    ]
}
