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

/// The values of one row being read, filled field by field by ``RecordBuilder``.
struct RowValues {
    var keys: [Value]
    var attributes: [Value]
    var eventTime: Timestamp?
    var operation = Operation.upsert
    /// Under ``SchemaEvolution/evolve``, the attribute with the wider type a value the row was
    /// rejected for fits (``ColumnType/widens(to:)``), when the entity may widen to one. Kept
    /// here rather than in the error, so that every field's result stays small.
    var widening: Column?

    /// Every key and attribute NULL, no event time, upsert.
    init(keyCount: Int, attributeCount: Int) {
        keys = Array(repeating: .null, count: keyCount)
        attributes = Array(repeating: .null, count: attributeCount)
    }
}

/// Turns one row's fields into a ``ChangeRecord`` by the rules of DESIGN.md sections 2 and 3,
/// or into the reason the row is rejected. Shared by the CSV and JSON Lines readers.
struct RecordBuilder {
    let entity: EntityConfiguration
    /// The load history id, for each record's arrival.
    let load: Int64
    /// The event time of records without one.
    let defaultEventTime: Timestamp
    private let roles: [String: ColumnRole]

    init(entity: EntityConfiguration, load: Int64, defaultEventTime: Timestamp) {
        self.entity = entity
        self.load = load
        self.defaultEventTime = defaultEventTime
        var roles: [String: ColumnRole] = [:]
        for (index, column) in entity.keyColumns.enumerated() { roles[column.name.normalized] = .key(index) }
        for (index, column) in entity.attributeColumns.enumerated() {
            roles[column.name.normalized] = .attribute(index)
        }
        roles[entity.eventTimeColumn.normalized] = .eventTime
        roles[entity.operationColumn.normalized] = .operation
        self.roles = roles
    }

    /// The role of a file column, matched case-insensitively and ignoring surrounding spaces.
    func role(of name: String) -> ColumnRole {
        roles[name.trimmingSpaces().lowercased()] ?? .ignored
    }

    /// Starts a row: every key and attribute NULL, no event time, upsert.
    func begin() -> RowValues {
        RowValues(keyCount: entity.keyColumns.count, attributeCount: entity.attributeColumns.count)
    }

    /// Takes one field's text (unescaped) into `values`; an unquoted empty field is NULL.
    ///
    /// - Returns: The reason to reject the row, or `nil` when the field is fine.
    func accept(
        _ role: ColumnRole,
        _ field: UnsafeBufferPointer<UInt8>,
        isQuoted: Bool,
        into values: inout RowValues
    ) -> FieldValueError? {
        switch role {
        case .ignored:
            return nil
        case .key(let index):
            let column = entity.keyColumns[index]
            guard !field.isEmpty else { return FieldValueError(reason: "missing key \(column.name)") }
            switch column.type.value(utf8: field, isQuoted: isQuoted, column: column.name) {
            case .success(let value): values.keys[index] = value
            case .failure(let error): return error
            }
        case .attribute(let index):
            let column = entity.attributeColumns[index]
            switch column.type.value(utf8: field, isQuoted: isQuoted, column: column.name) {
            case .success(let value): values.attributes[index] = value
            case .failure(let error):
                // Only a field that does not fit pays for looking for a wider type.
                if entity.schemaEvolution == .evolve,
                    let wider = column.type.widening(toFit: field, isQuoted: isQuoted, allowingText: entity.widenToText)
                {
                    values.widening = Column(column.name, wider)
                }
                return error
            }
        case .eventTime:
            let name = entity.eventTimeColumn
            guard !field.isEmpty else { return FieldValueError(reason: "missing \(name)") }
            if let parsed = Timestamp.parse(field) {
                // 9999-12-31 00:00:00 marks an open version's end; nothing may happen from then on.
                guard parsed < Timestamp.openEnd else {
                    return FieldValueError(
                        reason: "\(name) \(parsed) is at or after 9999-12-31 00:00:00, the end of open versions"
                    )
                }
                values.eventTime = parsed
            } else if case .failure(let error) = ColumnType.timestamp.value(
                utf8: field,
                isQuoted: isQuoted,
                column: name
            ) {
                return error
            }
        case .operation:
            var start = 0
            var end = field.count
            while start < end, field[start] == UInt8(ascii: " ") || field[start] == UInt8(ascii: "\t") { start += 1 }
            while end > start, field[end - 1] == UInt8(ascii: " ") || field[end - 1] == UInt8(ascii: "\t") { end -= 1 }
            if start == end {
                values.operation = .upsert
            } else if end - start == 1, let parsed = RecordBuilder.operation(field[start]) {
                values.operation = parsed
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
    func record(_ values: RowValues, row: Int64) -> Result<ChangeRecord, FieldValueError> {
        if let missing = values.keys.firstIndex(of: .null) {
            return .failure(FieldValueError(reason: "missing key \(entity.keyColumns[missing].name)"))
        }
        return .success(
            ChangeRecord(
                key: Key(values.keys),
                eventTime: values.eventTime ?? defaultEventTime,
                operation: values.operation,
                attributes: values.attributes,
                arrival: Arrival(load: load, row: row)
            )
        )
    }
}
