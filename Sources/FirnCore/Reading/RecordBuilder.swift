/// What a column of an input file is for.
enum ColumnRole: Equatable {
    /// The entity's key column at this index of ``EntityConfiguration/keyColumns``.
    case key(Int)
    /// The attribute column at this index of ``EntityConfiguration/attributeColumns``.
    case attribute(Int)
    /// ``EntityConfiguration/eventTimeColumn``.
    case eventTime
    /// ``EntityConfiguration/operationColumn``.
    case operation
    /// A column the entity does not know.
    case ignored
}

/// Turns one row's fields into a ``ChangeRecord`` by the rules of DESIGN.md sections 2 and 3,
/// or into the reason the row is rejected. Shared by the CSV and JSON Lines readers.
struct RecordBuilder {
    let entity: EntityConfiguration
    private let roles: [String: ColumnRole]
    private var keys: [Value]
    private var attributes: [Value]
    private var eventTime: Timestamp?
    private var operation = Operation.upsert

    init(entity: EntityConfiguration) {
        self.entity = entity
        var roles: [String: ColumnRole] = [:]
        for (index, column) in entity.keyColumns.enumerated() { roles[column.name.normalized] = .key(index) }
        for (index, column) in entity.attributeColumns.enumerated() {
            roles[column.name.normalized] = .attribute(index)
        }
        roles[entity.eventTimeColumn.normalized] = .eventTime
        roles[entity.operationColumn.normalized] = .operation
        self.roles = roles
        keys = []
        attributes = []
    }

    /// The role of a file column, matched case-insensitively and ignoring surrounding spaces.
    func role(of name: String) -> ColumnRole {
        roles[name.trimmingSpaces().lowercased()] ?? .ignored
    }

    /// Starts a row: every key and attribute NULL, no event time, upsert.
    mutating func begin() {
        keys = Array(repeating: .null, count: entity.keyColumns.count)
        attributes = Array(repeating: .null, count: entity.attributeColumns.count)
        eventTime = nil
        operation = .upsert
    }

    /// Takes one field's text (unescaped); an unquoted empty field is NULL.
    ///
    /// - Returns: The reason to reject the row, or `nil` when the field is fine.
    mutating func accept(_ role: ColumnRole, _ field: UnsafeBufferPointer<UInt8>, isQuoted: Bool) -> FieldValueError? {
        switch role {
        case .ignored:
            return nil
        case .key(let index):
            let column = entity.keyColumns[index]
            guard !field.isEmpty else { return FieldValueError(reason: "missing key \(column.name)") }
            switch column.type.value(utf8: field, isQuoted: isQuoted, column: column.name) {
            case .success(let value): keys[index] = value
            case .failure(let error): return error
            }
        case .attribute(let index):
            let column = entity.attributeColumns[index]
            switch column.type.value(utf8: field, isQuoted: isQuoted, column: column.name) {
            case .success(let value): attributes[index] = value
            case .failure(let error): return error
            }
        case .eventTime:
            let name = entity.eventTimeColumn
            guard !field.isEmpty else { return FieldValueError(reason: "missing \(name)") }
            if let parsed = Timestamp.parse(field) {
                eventTime = parsed
            } else if case .failure(let error) = ColumnType.timestamp.value(utf8: field, isQuoted: isQuoted, column: name) {
                return error
            }
        case .operation:
            var start = 0
            var end = field.count
            while start < end, field[start] == UInt8(ascii: " ") || field[start] == UInt8(ascii: "\t") { start += 1 }
            while end > start, field[end - 1] == UInt8(ascii: " ") || field[end - 1] == UInt8(ascii: "\t") { end -= 1 }
            if start == end {
                operation = .upsert
            } else if end - start == 1, let parsed = RecordBuilder.operation(field[start]) {
                operation = parsed
            } else {
                let text = String(decoding: field[start..<end].prefix(64), as: UTF8.self)
                return FieldValueError(reason: "unknown op \"\(text)\" (expected I, U or D)")
            }
        }
        return nil
    }

    private static func operation(_ byte: UInt8) -> Operation? {
        switch byte | 0x20 {
        case UInt8(ascii: "i"), UInt8(ascii: "u"): .upsert
        case UInt8(ascii: "d"): .delete
        default: nil
        }
    }

    /// The record of the row, once every field has been accepted.
    ///
    /// - Returns: The record, or the reason to reject the row (a key never given).
    mutating func record(row: Int64, load: Int64, defaultEventTime: Timestamp) -> Result<ChangeRecord, FieldValueError> {
        if let missing = keys.firstIndex(of: .null) {
            return .failure(FieldValueError(reason: "missing key \(entity.keyColumns[missing].name)"))
        }
        return .success(
            ChangeRecord(
                key: Key(keys),
                eventTime: eventTime ?? defaultEventTime,
                operation: operation,
                attributes: attributes,
                arrival: Arrival(load: load, row: row)
            )
        )
    }
}
