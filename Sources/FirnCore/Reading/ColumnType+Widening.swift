extension ColumnType {
    /// Whether every value of this type has a value of `other` that means the same, so a column
    /// can change from this type to `other` without losing anything: a type to itself, an
    /// integer to a decimal, and anything to text.
    public func widens(to other: ColumnType) -> Bool {
        self == other || other == .text || (self == .integer && other == .decimal)
    }

    /// The narrowest type both this type and `other` widen to (``widens(to:)``).
    public func joined(with other: ColumnType) -> ColumnType {
        if widens(to: other) { return other }
        if other.widens(to: self) { return self }
        return .text
    }

    /// The narrowest wider type a field that does not fit this type fits, or `nil` when none
    /// may be used: a decimal for an integer column, else text when `allowingText` (a field
    /// that is valid UTF-8 without NUL bytes).
    func widening(toFit field: UnsafeBufferPointer<UInt8>, isQuoted: Bool, allowingText: Bool) -> ColumnType? {
        if self == .integer,
            case .success = ColumnType.decimal.value(utf8: field, isQuoted: isQuoted, column: "widening")
        {
            return .decimal
        }
        guard allowingText, self != .text,
            case .success = ColumnType.text.value(utf8: field, isQuoted: isQuoted, column: "widening")
        else { return nil }
        return .text
    }
}

extension Value {
    /// The value as a column of type `to` holds it, for a value stored for type `from`
    /// (`from` ``ColumnType/widens(to:)`` `to`): an integer becomes its decimal text (`-5`),
    /// a boolean `true` or `false`; text stays as it is.
    public func widened(from: ColumnType, to: ColumnType) -> Value {
        guard case .integer(let number) = self, from != to else { return self }
        switch (from, to) {
        case (.boolean, .text): return .text(number != 0 ? "true" : "false")
        case (.integer, .decimal), (.integer, .text): return .text(String(number))
        default: return self
        }
    }
}

extension EntityConfiguration {
    /// The entity with each of `columns`' attributes of the type both it and the column's
    /// widen to (``ColumnType/joined(with:)``), and the attributes that changed, with the
    /// type each had before. Names that are not attributes, and keys, are left alone.
    public func widening(
        _ columns: [Column]
    ) -> (entity: EntityConfiguration, changed: [(column: Column, from: ColumnType)]) {
        var wider = self
        var changed: [(column: Column, from: ColumnType)] = []
        for column in columns {
            guard let index = wider.attributeColumns.firstIndex(where: { $0.name == column.name }) else { continue }
            let before = wider.attributeColumns[index].type
            let after = before.joined(with: column.type)
            guard after != before else { continue }
            wider.attributeColumns[index].type = after
            if wider.widenedAttributes[column.name] == nil { wider.widenedAttributes[column.name] = before }
            changed.append((Column(column.name, after), before))
        }
        return (wider, changed)
    }
}

extension Array where Element == Column {
    /// Adds `column`, or widens the one of its name to the type both widen to.
    mutating func merge(_ column: Column) {
        if let index = firstIndex(where: { $0.name == column.name }) {
            self[index].type = self[index].type.joined(with: column.type)
        } else {
            append(column)
        }
    }
}
