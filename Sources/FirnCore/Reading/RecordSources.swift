/// Reads a CSV file's rows as records or rejects.
final class CSVRecordSource {
    /// The wider type the row just rejected needs (``RowValues/widening``).
    private var widening: Column?
    private let reader: CSVReader
    private let builder: RecordBuilder
    private let roles: [ColumnRole]
    private var scratch: [UInt8] = []
    /// Header columns the entity does not know, as written.
    let ignoredColumns: [String]
    /// Attributes the header lacks, which the entity allows (``EntityConfiguration/mayLack(_:)``):
    /// NULL in every record.
    let missingAttributes: [String]
    /// Whether the header has the event-time column.
    let hasEventTime: Bool
    /// Whether the header has the op column.
    let hasOperation: Bool

    /// Reads the file's header and checks it against the entity.
    ///
    /// - Throws: ``FileReadError`` for a file that cannot be read or a header that does not fit.
    init(file: ByteFile, builder: RecordBuilder, configuration: ReaderConfiguration) throws(FileReadError) {
        let path = file.path
        reader = try CSVReader(
            file: file,
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
        let required = missingAttributes.filter { !entity.mayLack(entity.attributeColumns[$0]) }
        guard required.isEmpty else {
            let names = required.map { entity.attributeColumns[$0].name.description }
            throw .missingAttributeColumns(path: path, columns: names)
        }
        self.missingAttributes = missingAttributes.map { entity.attributeColumns[$0].name.description }
        self.roles = roles
        ignoredColumns = ignored
        hasEventTime = roles.contains(.eventTime)
        hasOperation = roles.contains(.operation)
    }

    /// Bytes of the file consumed so far (the header and the rows read, as far as the reader
    /// has scanned).
    var bytesRead: Int64 { reader.bytesRead }

    /// Reads the next row into `records` or `rejects`.
    ///
    /// - Returns: The row's number, or `nil` at the end of the file.
    func readRow(
        records: inout [ChangeRecord],
        rejects: inout [RejectedRow],
        widenings: inout [Column]
    ) throws(FileReadError) -> Int64? {
        guard try reader.nextRow() else { return nil }
        let row = reader.rowNumber
        switch currentRecord(row: row) {
        case .success(let record):
            records.append(record)
        case .failure(let error):
            let rawText = reader.raw.rejectedText(fullLength: reader.rawLength)
            rejects.append(RejectedRow(row: row, rawText: rawText, reason: error.reason))
            if let wider = widening {
                widenings.merge(wider)
                widening = nil
            }
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
        if let error {
            widening = values.widening
            return .failure(error)
        }
        return builder.record(values, row: row)
    }
}

/// Reads a JSON Lines file's lines as records or rejects.
///
/// The event-time member is all or nothing within a file, as a CSV column is: when any line has
/// it, a line without it is rejected (`missing update_timestamp`); when none has it, every line
/// gets the load's default event time. The first line that is a JSON object decides, unless it
/// lacks the member: then the rest of the file is read once ahead to find out.
final class JSONLinesRecordSource {
    /// The wider type the line just rejected needs (``RowValues/widening``).
    private var widening: Column?
    private enum EventTimeRule {
        /// No line has been read as an object yet.
        case undecided
        /// Some line has the member: every line needs it.
        case required
        /// No line has it: every line gets the default event time.
        case absent
    }

    private let reader: JSONLinesReader
    private let builder: RecordBuilder
    private let maxFieldBytes: Int
    private let readBufferBytes: Int
    private var ignoredNames = Set<String>()
    private var roleCache: [String: (normalized: String, role: ColumnRole)] = [:]
    private var eventTimeRule = EventTimeRule.undecided
    /// Members the entity does not know, as first written, in order of first appearance.
    private(set) var ignoredColumns: [String] = []
    /// Whether the file's lines have the event-time member (known from the first line that is
    /// a JSON object on).
    var hasEventTime: Bool { eventTimeRule == .required }
    /// Whether the event time is known to be absent from every line (a file with objects).
    var lacksEventTime: Bool { eventTimeRule == .absent }
    /// Whether any line read so far had the op member.
    private(set) var hasOperation = false
    /// Whether any line read so far was a JSON object.
    private(set) var hasObjects = false

    /// Opens the file.
    ///
    /// - Throws: ``FileReadError`` for a file that cannot be read.
    init(file: ByteFile, builder: RecordBuilder, configuration: ReaderConfiguration) throws(FileReadError) {
        let (lineBytes, overflow) = configuration.maxFieldBytes.multipliedReportingOverflow(by: 8)
        reader = try JSONLinesReader(
            file: file,
            maxLineBytes: overflow ? Int.max : lineBytes,
            readBufferBytes: configuration.readBufferBytes
        )
        self.builder = builder
        maxFieldBytes = configuration.maxFieldBytes
        readBufferBytes = configuration.readBufferBytes
    }

    /// Bytes of the file consumed so far (the lines read).
    var bytesRead: Int64 { reader.bytesRead }

    /// Reads the next non-blank line into `records` or `rejects`.
    ///
    /// - Returns: The line's number, or `nil` at the end of the file.
    func readRow(
        records: inout [ChangeRecord],
        rejects: inout [RejectedRow],
        widenings: inout [Column]
    ) throws(FileReadError) -> Int64? {
        guard try reader.nextLine() else { return nil }
        let row = reader.lineNumber
        let result = try lineRecord(row: row)
        switch result {
        case .success(let record): records.append(record)
        case .failure(let error):
            let rawText = reader.line.rejectedText(fullLength: reader.lineLength)
            rejects.append(RejectedRow(row: row, rawText: rawText, reason: error.reason))
            if let wider = widening {
                widenings.merge(wider)
                widening = nil
            }
        }
        return row
    }

    private func lineRecord(row: Int64) throws(FileReadError) -> Result<ChangeRecord, FieldValueError> {
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
        hasObjects = true
        if eventTimeRule == .undecided {
            let hasMember = members.contains { role(of: $0.name).role == .eventTime }
            eventTimeRule = hasMember ? .required : try laterLineHasEventTime() ? .required : .absent
        }
        var sawEventTime = false
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
                sawEventTime = true
            case .operation:
                hasOperation = true
            default:
                break
            }
            if let error = accept(role, name: name, value: value, into: &values) {
                widening = values.widening
                return .failure(error)
            }
        }
        let record = builder.record(values, row: row)
        if case .success = record, eventTimeRule == .required, !sawEventTime {
            let name = builder.entity.eventTimeColumn
            return .failure(
                FieldValueError(reason: "missing \(name): other lines of this file have it, so each needs it")
            )
        }
        return record
    }

    /// Whether a line after the current one has the event-time member: reads the file (its
    /// snapshot) once more through a reader of its own.
    private func laterLineHasEventTime() throws(FileReadError) -> Bool {
        let scan = try JSONLinesReader(
            file: reader.file,
            maxLineBytes: reader.maxLineBytes,
            readBufferBytes: readBufferBytes
        )
        let current = reader.lineNumber
        while try scan.nextLine() {
            guard scan.lineNumber > current, !scan.isOversized else { continue }
            let parsed = scan.line.withUnsafeBufferPointer { JSONObjectLine.parse($0) }
            if case .success(let members) = parsed, members.contains(where: { role(of: $0.name).role == .eventTime }) {
                return true
            }
        }
        return false
    }

    /// Every member of the file's lines that the entity does not know, as first written, in
    /// order of first appearance: a pass over the whole file, before reading it.
    func unknownMembers() throws(FileReadError) -> [String] {
        let scan = try JSONLinesReader(
            file: reader.file,
            maxLineBytes: reader.maxLineBytes,
            readBufferBytes: readBufferBytes
        )
        var seen = Set<String>()
        var unknown: [String] = []
        while try scan.nextLine() {
            guard !scan.isOversized else { continue }
            let parsed = scan.line.withUnsafeBufferPointer { JSONObjectLine.parse($0) }
            guard case .success(let members) = parsed else { continue }
            for member in members {
                let (normalized, role) = role(of: member.name)
                if role == .ignored, seen.insert(normalized).inserted { unknown.append(member.name) }
            }
        }
        return unknown
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
