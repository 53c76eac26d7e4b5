extension ColumnType {
    /// The types a new column may be given, narrowest first: the first that every value fits is
    /// the column's (``inferred(from:)``).
    public static let inferenceOrder: [ColumnType] = [.integer, .decimal, .boolean, .date, .timestamp, .text]

    /// The narrowest type that every non-empty value fits, in ``inferenceOrder``: `1` and `0`
    /// make an integer, `yes` a boolean, `2026-03-01` a date, one value that fits nothing
    /// narrower makes text. No values (or only empty ones) make text.
    ///
    /// A pure function of the values, so every worker that reads the same file infers the
    /// same type.
    public static func inferred(from values: some Sequence<String>) -> ColumnType {
        var inference = TypeInference()
        for value in values { inference.observe(value) }
        return inference.type
    }
}

/// Infers a column's type from its values one at a time (``ColumnType/inferred(from:)``), in
/// constant memory.
public struct TypeInference: Sendable, Hashable {
    private var candidates = ColumnType.inferenceOrder.dropLast()
    private var sawValue = false

    /// No values seen yet.
    public init() {}

    /// Takes one value's text into account; an empty one says nothing.
    public mutating func observe(_ value: String) {
        guard !value.isEmpty, !candidates.isEmpty else { return }
        sawValue = true
        let probe: Identifier = "inferred"
        candidates.removeAll { type in (try? type.value(parsing: value, column: probe)) == nil }
    }

    /// The narrowest type every value seen fits; text when none was seen.
    public var type: ColumnType { sawValue ? candidates.first ?? .text : .text }
}
