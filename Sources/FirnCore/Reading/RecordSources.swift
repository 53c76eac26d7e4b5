/// Reads a CSV file's rows as records or rejects.
final class CSVRecordSource {
    private let reader: CSVReader
    private let builder: RecordBuilder
    private let roles: [ColumnRole]
    private var scratch: [UInt8] = []
    /// Header columns the entity does not know, as written.
    let ignoredColumns: [String]
    /// Whether the header has the event-time column.
    let hasEventTime: Bool

    /// Opens the file and checks its header against the entity.
    ///
    /// - Throws: ``FileReadError`` for a file that cannot be read or a header that does not fit.
    init(path: String, builder: RecordBuilder, configuration: ReaderConfiguration) throws(FileReadError) {
        reader = try CSVReader(
            path: path,
            maxFieldBytes: configuration.maxFieldBytes,
            readBufferBytes: configuration.readBufferBytes
        )
        self.builder = builder
        let entity = builder.entity
        var roles: [ColumnRole] = []
        var ignored: [String] = []
        var seen = Set<String>()
        for (index, name) in reader.header.enumerated() {
            let role = builder.role(of: name)
            roles.append(role)
            if name.isEmpty {
                ignored.append("(column \(index + 1) has no name)")
                continue
            }
            guard seen.insert(name.lowercased()).inserted else { throw .duplicateColumn(path: path, column: name) }
            if role == .ignored { ignored.append(name) }
        }
        let missingKeys = entity.keyColumns.indices.filter { !roles.contains(.key($0)) }
        guard missingKeys.isEmpty else {
            throw .missingKeyColumns(path: path, columns: missingKeys.map { entity.keyColumns[$0].name.description })
        }
        let missingAttributes = entity.attributeColumns.indices.filter { !roles.contains(.attribute($0)) }
        guard missingAttributes.isEmpty else {
            let names = missingAttributes.map { entity.attributeColumns[$0].name.description }
            throw .missingAttributeColumns(path: path, columns: names)
        }
        self.roles = roles
        ignoredColumns = ignored
        hasEventTime = roles.contains(.eventTime)
    }

    /// Reads the next row into `records` or `rejects`.
    ///
    /// - Returns: The row's number, or `nil` at the end of the file.
    func readRow(records: inout [ChangeRecord], rejects: inout [RejectedRow]) throws(FileReadError) -> Int64? {
        guard try reader.nextRow() else { return nil }
        let row = reader.rowNumber
        switch currentRecord(row: row) {
        case .success(let record):
            records.append(record)
        case .failure(let error):
            let rawText = reader.raw.rejectedText(fullLength: reader.rawLength)
            rejects.append(RejectedRow(row: row, rawText: rawText, reason: error.reason))
        }
        return row
    }

    /// The reader's current row as a record, or the reason to reject it.
    private func currentRecord(row: Int64) -> Result<ChangeRecord, FieldValueError> {
        if let problem = reader.problem { return .failure(FieldValueError(reason: problem)) }
        let roles = roles
        guard reader.fieldCount == roles.count else {
            if reader.rawLength == 0 {
                return .failure(FieldValueError(reason: "row is blank; header has \(roles.count) fields"))
            }
            return .failure(FieldValueError(reason: "row has \(reader.fieldCount) fields, header has \(roles.count)"))
        }
        let builder = builder
        var values = builder.begin()
        let fields = reader.fields
        var scratch = self.scratch
        defer { self.scratch = scratch }
        let error = reader.raw.withUnsafeBufferPointer { raw -> FieldValueError? in
            for index in roles.indices where roles[index] != .ignored {
                let field = fields[index]
                let error = CSVReader.withText(of: field, in: raw, scratch: &scratch) { text in
                    builder.accept(roles[index], text, isQuoted: field.isQuoted, into: &values)
                }
                if let error { return error }
            }
            return nil
        }
        if let error { return .failure(error) }
        return builder.record(values, row: row)
    }
}

/// Reads a JSON Lines file's lines as records or rejects.
final class JSONLinesRecordSource {
    private let reader: JSONLinesReader
    private let builder: RecordBuilder
    private let maxFieldBytes: Int
    private var ignoredNames = Set<String>()
    private var roleCache: [String: (normalized: String, role: ColumnRole)] = [:]
    /// Members the entity does not know, as first written, in order of first appearance.
    private(set) var ignoredColumns: [String] = []
    /// Whether any line read so far had the event-time member.
    private(set) var hasEventTime = false

    /// Opens the file.
    ///
    /// - Throws: ``FileReadError`` for a file that cannot be read.
    init(path: String, builder: RecordBuilder, configuration: ReaderConfiguration) throws(FileReadError) {
        let (lineBytes, overflow) = configuration.maxFieldBytes.multipliedReportingOverflow(by: 8)
        reader = try JSONLinesReader(
            path: path,
            maxLineBytes: overflow ? Int.max : lineBytes,
            readBufferBytes: configuration.readBufferBytes
        )
        self.builder = builder
        maxFieldBytes = configuration.maxFieldBytes
    }

    /// Reads the next non-blank line into `records` or `rejects`.
    ///
    /// - Returns: The line's number, or `nil` at the end of the file.
    func readRow(records: inout [ChangeRecord], rejects: inout [RejectedRow]) throws(FileReadError) -> Int64? {
        guard try reader.nextLine() else { return nil }
        let row = reader.lineNumber
        let result = lineRecord(row: row)
        switch result {
        case .success(let record): records.append(record)
        case .failure(let error):
            let rawText = reader.line.rejectedText(fullLength: reader.lineLength)
            rejects.append(RejectedRow(row: row, rawText: rawText, reason: error.reason))
        }
        return row
    }

    private func lineRecord(row: Int64) -> Result<ChangeRecord, FieldValueError> {
        if reader.isOversized {
            return .failure(
                FieldValueError(
                    reason: "line is \(reader.lineLength) bytes, over the limit of \(reader.maxLineBytes) bytes"
                )
            )
        }
        let parsed = reader.line.withUnsafeBufferPointer { JSONObjectLine.parse($0) }
        let members: [(name: String, value: JSONMemberValue)]
        switch parsed {
        case .success(let value): members = value
        case .failure(let error): return .failure(error)
        }
        var values = builder.begin()
        var seen: [String] = []
        seen.reserveCapacity(members.count)
        for (name, value) in members {
            let (lower, role) = role(of: name)
            guard !seen.contains(lower) else {
                return .failure(FieldValueError(reason: "member \"\(name)\" appears twice"))
            }
            seen.append(lower)
            switch role {
            case .ignored:
                if ignoredNames.insert(lower).inserted { ignoredColumns.append(name) }
                continue
            case .eventTime:
                hasEventTime = true
            default:
                break
            }
            if let error = accept(role, name: name, value: value, into: &values) { return .failure(error) }
        }
        return builder.record(values, row: row)
    }

    /// A member's normalized name and role, cached by the name as written.
    private func role(of name: String) -> (normalized: String, role: ColumnRole) {
        if let known = roleCache[name] { return known }
        let entry = (name.trimmingSpaces().lowercased(), builder.role(of: name))
        if roleCache.count < 1024 { roleCache[name] = entry }
        return entry
    }

    private func accept(
        _ role: ColumnRole,
        name: String,
        value: JSONMemberValue,
        into values: inout RowValues
    ) -> FieldValueError? {
        switch value {
        case .null:
            return builder.accept(role, UnsafeBufferPointer(start: nil, count: 0), isQuoted: false, into: &values)
        case .boolean(let flag):
            var text = flag ? "true" : "false"
            return text.withUTF8 { builder.accept(role, $0, isQuoted: false, into: &values) }
        case .number(var text):
            return text.withUTF8 { builder.accept(role, $0, isQuoted: false, into: &values) }
        case .string(var text):
            if text.utf8.count > maxFieldBytes {
                return FieldValueError(
                    reason:
                        "field in column \(name) is \(text.utf8.count) bytes, over the limit of \(maxFieldBytes) bytes"
                )
            }
            return text.withUTF8 { builder.accept(role, $0, isQuoted: true, into: &values) }
        case .nested:
            return FieldValueError(reason: "member \(name) holds a JSON object or array; expected a single value")
        }
    }
}
