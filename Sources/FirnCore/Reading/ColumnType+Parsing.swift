/// A field whose text does not fit its column, with the reason a person can act on.
///
/// ``reason`` is what goes into ``RejectedRow/reason``:
/// `value "12a" in column age is not an integer`.
public struct FieldValueError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why the field was refused, naming the column and quoting (a prefix of) the value.
    public var reason: String

    /// Creates an error with its reason.
    public init(reason: String) {
        self.reason = reason
    }

    /// The reason.
    public var description: String { reason }
}

extension ColumnType {
    /// Converts a field's text into the value Firn stores for a column of this type.
    ///
    /// - ``ColumnType/text``: the text as is; the empty text is the empty string.
    /// - ``ColumnType/integer``: an optional `+`/`-` and decimal digits in the 64-bit range.
    /// - ``ColumnType/decimal``: canonical text (`12.50` → `12.5`, `-0.0` → `0`, `.5` → `0.5`);
    ///   exponents are refused.
    /// - ``ColumnType/boolean``: `true`/`false`, `t`/`f`, `yes`/`no`, `1`/`0` in any case → `1`/`0`.
    /// - ``ColumnType/date``: a valid `YYYY-MM-DD`, stored as is.
    /// - ``ColumnType/timestamp``: see ``Timestamp/init(parsing:)``; stored as ``Timestamp/description``.
    ///
    /// Typed columns take the empty text as ``Value/null``. No spaces are trimmed.
    ///
    /// - Parameters:
    ///   - text: The field's text (unescaped, without CSV quotes).
    ///   - column: The column's name, for the reason.
    /// - Returns: The stored value.
    /// - Throws: ``FieldValueError`` naming the column and the value.
    public func value(parsing text: some StringProtocol, column: Identifier) throws(FieldValueError) -> Value {
        let result =
            text.utf8.withContiguousStorageIfAvailable { value(utf8: $0, isQuoted: true, column: column) }
            ?? Array(text.utf8).withUnsafeBufferPointer { value(utf8: $0, isQuoted: true, column: column) }
        return try result.get()
    }

    /// Converts a field's UTF-8 bytes into a stored value; the byte-level core of ``value(parsing:column:)``.
    ///
    /// An empty unquoted field is ``Value/null`` for every type; an empty quoted field is the empty
    /// string for ``ColumnType/text`` and ``Value/null`` for the others.
    func value(
        utf8 field: UnsafeBufferPointer<UInt8>,
        isQuoted: Bool,
        column: Identifier
    ) -> Result<Value, FieldValueError> {
        if field.isEmpty { return .success(self == .text && isQuoted ? .text("") : .null) }
        switch self {
        case .text:
            if field.contains(0) {
                return .failure(FieldValueError(reason: "NUL byte in column \(column); the row is partly binary"))
            }
            guard let text = ColumnType.string(validating: field) else {
                return .failure(FieldValueError(reason: "invalid UTF-8 in column \(column)"))
            }
            return .success(.text(text))
        case .integer:
            if let integer = ColumnType.integer(field) { return .success(.integer(integer)) }
            let isSyntax = ColumnType.isIntegerSyntax(field)
            return refusal(field, column, isSyntax ? "is outside the 64-bit integer range" : "is not an integer")
        case .decimal:
            if let text = ColumnType.canonicalDecimal(field) { return .success(.text(text)) }
            return refusal(field, column, "is not a decimal (digits with an optional . and sign, no exponent)")
        case .boolean:
            if let flag = ColumnType.boolean(field) { return .success(.integer(flag ? 1 : 0)) }
            return refusal(field, column, "is not a boolean (true/false, yes/no, t/f, 1/0)")
        case .date:
            if field.count == 10, Timestamp.parse(field) != nil {
                return .success(.text(String(decoding: field, as: UTF8.self)))
            }
            return refusal(field, column, "is not a date (YYYY-MM-DD)")
        case .timestamp:
            if let timestamp = Timestamp.parse(field) { return .success(timestamp.value) }
            guard String(validating: field, as: UTF8.self) != nil else {
                return .failure(FieldValueError(reason: "invalid UTF-8 in column \(column)"))
            }
            return .failure(FieldValueError(reason: "bad timestamp \(ColumnType.quoted(field)) in column \(column)"))
        }
    }

    /// The field as a `String`, or `nil` when it is not valid UTF-8; fast for ASCII.
    @inline(__always)
    static func string(validating field: UnsafeBufferPointer<UInt8>) -> String? {
        var combined: UInt8 = 0
        for byte in field { combined |= byte }
        if combined < 0x80 { return String(decoding: field, as: UTF8.self) }
        return String(validating: field, as: UTF8.self)
    }

    private func refusal(
        _ field: UnsafeBufferPointer<UInt8>,
        _ column: Identifier,
        _ problem: String
    ) -> Result<Value, FieldValueError> {
        guard String(validating: field, as: UTF8.self) != nil else {
            return .failure(FieldValueError(reason: "invalid UTF-8 in column \(column)"))
        }
        return .failure(FieldValueError(reason: "value \(ColumnType.quoted(field)) in column \(column) \(problem)"))
    }

    /// A field's text in double quotes for a reason, cut to 64 bytes.
    static func quoted(_ field: UnsafeBufferPointer<UInt8>) -> String {
        let limit = 64
        if field.count <= limit { return "\"" + String(decoding: field, as: UTF8.self) + "\"" }
        return "\"" + String(decoding: field[0..<limit], as: UTF8.self) + "…\""
    }

    static func integer(_ field: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        var isNegative = false
        if let first = field.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            isNegative = first == UInt8(ascii: "-")
            index = 1
        }
        guard index < field.count else { return nil }
        // Accumulate negatively so that Int64.min parses.
        var value: Int64 = 0
        while index < field.count {
            let digit = field[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        if isNegative { return value }
        return value == .min ? nil : -value
    }

    static func isIntegerSyntax(_ field: UnsafeBufferPointer<UInt8>) -> Bool {
        let digits =
            field.first == UInt8(ascii: "+") || field.first == UInt8(ascii: "-") ? field.dropFirst() : field[...]
        return !digits.isEmpty && digits.allSatisfy { $0 &- UInt8(ascii: "0") < 10 }
    }

    /// `[+-]digits[.digits]` (at least one digit in all) in canonical form, or `nil`.
    static func canonicalDecimal(_ field: UnsafeBufferPointer<UInt8>) -> String? {
        var index = 0
        var isNegative = false
        if let first = field.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            isNegative = first == UInt8(ascii: "-")
            index = 1
        }
        let integerStart = index
        while index < field.count, field[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        let integerEnd = index
        var fractionStart = index
        var fractionEnd = index
        if index < field.count, field[index] == UInt8(ascii: ".") {
            index += 1
            fractionStart = index
            while index < field.count, field[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            fractionEnd = index
        }
        guard index == field.count, integerEnd > integerStart || fractionEnd > fractionStart else { return nil }
        var first = integerStart
        while first < integerEnd, field[first] == UInt8(ascii: "0") { first += 1 }
        while fractionEnd > fractionStart, field[fractionEnd - 1] == UInt8(ascii: "0") { fractionEnd -= 1 }
        let isZero = first == integerEnd && fractionEnd == fractionStart
        if isZero { return "0" }
        var out: [UInt8] = []
        out.reserveCapacity(field.count + 1)
        if isNegative { out.append(UInt8(ascii: "-")) }
        if first == integerEnd {
            out.append(UInt8(ascii: "0"))
        } else {
            out.append(contentsOf: field[first..<integerEnd])
        }
        if fractionEnd > fractionStart {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: field[fractionStart..<fractionEnd])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func boolean(_ field: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard field.count <= 5 else { return nil }
        var lower: UInt64 = 0
        for byte in field {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            lower = lower << 8 | UInt64(folded)
        }
        if trueWords.contains(lower) { return true }
        if falseWords.contains(lower) { return false }
        return nil
    }

    private static func word(_ text: StaticString) -> UInt64 {
        text.withUTF8Buffer { $0.reduce(0) { $0 << 8 | UInt64($1) } }
    }

    private static let trueWords = [word("true"), word("t"), word("yes"), word("1")]
    private static let falseWords = [word("false"), word("f"), word("no"), word("0")]
}
