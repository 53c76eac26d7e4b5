/// A key a person typed that does not name a key of the entity.
public struct KeyParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, e.g. `key 1|2 has 2 part(s); customer has 1 key column(s)`.
    public var description: String
}

extension EntityConfiguration {
    /// Parses a key as `firn history` and the HTTP API take it: the key columns' values in
    /// order, joined by `|`, each parsed as loading parses its column (so `1.50` finds the
    /// decimal key stored as `1.5`).
    ///
    /// - Throws: ``KeyParseError`` for the wrong number of parts, an empty part or a value
    ///   that does not fit its column.
    public func key(parsing text: String) throws(KeyParseError) -> Key {
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == keyColumns.count else {
            throw KeyParseError(
                description: "key \(text) has \(parts.count) part(s); \(name) has \(keyColumns.count) key column(s)"
            )
        }
        var values: [Value] = []
        for (part, column) in zip(parts, keyColumns) {
            let value: Value
            do { value = try column.type.value(parsing: part, column: column.name) } catch {
                throw KeyParseError(description: "key \(String(part).debugDescription): \(error)")
            }
            if value.isNull { throw KeyParseError(description: "key \(column.name) is empty") }
            values.append(value)
        }
        return Key(values)
    }
}
