/// Reads a change file (CSV or JSON Lines) as chunks of ``ChangeRecord``s and ``RejectedRow``s.
///
/// Columns are matched by name, in any order, case-insensitively, against the entity's key
/// columns, attribute columns, ``EntityConfiguration/eventTimeColumn`` and
/// ``EntityConfiguration/operationColumn``; other columns are ignored (``ignoredColumns``), or
/// under ``SchemaEvolution/reject`` refuse the file when it is opened (JSON Lines: every line
/// is scanned for members first, a second pass over the file).
/// Each record's ``ChangeRecord/arrival`` is the load and the row number. The rules
/// (DESIGN.md sections 2 and 3):
///
/// - `op`: `I` or `U` (any case, spaces trimmed), an empty field or no op column → upsert; `D` →
///   delete; anything else rejects the row (`unknown op "X" (expected I, U or D)`).
/// - A NULL or empty key rejects the row (`missing key customer_id`); key values are typed by
///   the key column's type.
/// - With an event-time column, an empty value rejects the row (`missing update_timestamp`),
///   a bad one too (`bad timestamp "2026-13-01" in column update_timestamp`); without one,
///   every record gets the `defaultEventTime` (the load time).
/// - Attributes: an unquoted empty field is NULL; a quoted empty field is the empty string in a
///   text column and NULL in a typed one; see ``ColumnType/value(parsing:column:)`` for types.
/// - CSV: a row with the wrong number of fields is rejected (`row has 7 fields, header has 10`);
///   every key column is required in the header, and every attribute column the entity does not
///   allow files to lack (``EntityConfiguration/mayLack(_:)``: any under `schema_evolution:
///   evolve`, evolved ones always; a lacking one is NULL in every record, with a warning).
/// - JSON Lines: blank lines are skipped; a row number is a line number; a missing member is
///   NULL; the event-time member is all or nothing within a file, like a CSV column: when some
///   line has it, a line without it is rejected (`missing update_timestamp: …`), when no line
///   has it every record gets the `defaultEventTime`; strings fit any column
///   (parsed like CSV text), numbers integer, decimal and text columns (as their exact text),
///   booleans boolean columns (and text columns as `true`/`false`); objects and arrays no column.
///
/// A reject keeps the row's raw text (CSV: the physical text without its line ending; invalid
/// UTF-8 replaced with U+FFFD; only the first 4 KiB of an oversized row). A malformed CSV row
/// (`"ab"c`, a field over ``ReaderConfiguration/maxFieldBytes``) is rejected and reading goes on
/// with the next row; after a quote that never closes, with the line after the one it opened on.
///
/// Reading is deterministic: reading the same bytes again gives the same records, rejects and
/// row numbers, so a load interrupted part way can simply read its file again from the start.
/// Only the bytes the file held when it was opened are read (see ``FileSnapshot``).
/// Memory is bounded by ``ReaderConfiguration/readBufferBytes``, the field limit and one chunk,
/// not by the file's size.
///
/// The reader is noncopyable: it owns the open file, which closes when the reader goes away.
///
/// ## Topics
/// - ``init(path:entity:load:defaultEventTime:format:configuration:)``
/// - ``init(snapshot:entity:load:defaultEventTime:format:configuration:)``
/// - ``nextChunk()``
/// - ``warnings``
public struct RecordFileReader: ~Copyable, @unchecked Sendable {
    // @unchecked: the sources are classes created in `init` and reachable only through this
    // noncopyable value, so two tasks can never use them at once; sending the reader moves them.
    enum Source {
        case csv(CSVRecordSource)
        case jsonLines(JSONLinesRecordSource)
    }

    let source: Source
    private let chunkRows: Int
    private let chunkBytes: Int64
    private let builder: RecordBuilder
    /// The file's path.
    public let path: String
    /// The file's format.
    public let format: FileFormat

    /// Opens a file and, for CSV, reads and checks its header.
    ///
    /// - Parameters:
    ///   - path: The file to read.
    ///   - entity: The entity whose records the file holds.
    ///   - load: The load history id, for each record's ``ChangeRecord/arrival``.
    ///   - defaultEventTime: The event time of records from a file without an event-time column.
    ///   - format: The file's format; `nil` (the default) takes it from the name (``FileFormat/init(path:)``).
    ///   - configuration: Limits and chunk size. Defaults to ``ReaderConfiguration/init(maxFieldBytes:chunkRows:readBufferBytes:)``.
    /// - Throws: ``FileReadError`` when the file cannot be opened or read, is empty or binary,
    ///   or its CSV header lacks a key or attribute column, names one twice, or is malformed.
    public init(
        path: String,
        entity: EntityConfiguration,
        load: Int64,
        defaultEventTime: Timestamp,
        format: FileFormat? = nil,
        configuration: ReaderConfiguration = .init()
    ) throws(FileReadError) {
        try self.init(
            snapshot: try FileSnapshot(path: path),
            entity: entity,
            load: load,
            defaultEventTime: defaultEventTime,
            format: format,
            configuration: configuration
        )
    }

    /// Reads a file already opened as a snapshot: only the bytes it held when opened.
    ///
    /// The parameters and errors are those of ``init(path:entity:load:defaultEventTime:format:configuration:)``.
    public init(
        snapshot: FileSnapshot,
        entity: EntityConfiguration,
        load: Int64,
        defaultEventTime: Timestamp,
        format: FileFormat? = nil,
        configuration: ReaderConfiguration = .init()
    ) throws(FileReadError) {
        let path = snapshot.path
        let format = format ?? FileFormat(path: path)
        let builder = RecordBuilder(entity: entity, load: load, defaultEventTime: defaultEventTime)
        switch format {
        case .csv:
            let csv = try CSVRecordSource(file: snapshot.file, builder: builder, configuration: configuration)
            if entity.schemaEvolution == .reject, !csv.ignoredColumns.isEmpty {
                throw .unknownColumns(path: path, columns: csv.ignoredColumns, entity: entity.name.normalized)
            }
            source = .csv(csv)
        case .jsonLines:
            let json = try JSONLinesRecordSource(file: snapshot.file, builder: builder, configuration: configuration)
            if entity.schemaEvolution == .reject {
                let unknown = try json.unknownMembers()
                if !unknown.isEmpty {
                    throw .unknownColumns(path: path, columns: unknown, entity: entity.name.normalized)
                }
            }
            source = .jsonLines(json)
        }
        self.path = path
        self.format = format
        self.builder = builder
        chunkRows = configuration.chunkRows
        chunkBytes = Int64(configuration.chunkBytes)
    }

    /// Columns in the file that the entity does not know, as written; they are ignored.
    ///
    /// For CSV these are known once the reader is created; for JSON Lines they are the members
    /// seen in the lines read so far.
    public var ignoredColumns: [String] {
        switch source {
        case .csv(let csv): csv.ignoredColumns
        case .jsonLines(let json): json.ignoredColumns
        }
    }

    /// Whether the file has the event-time column (else its records get the default event time).
    ///
    /// For CSV this is known once the reader is created; for JSON Lines once the first line that
    /// is a JSON object has been read.
    public var hasEventTime: Bool {
        switch source {
        case .csv(let csv): csv.hasEventTime
        case .jsonLines(let json): json.hasEventTime
        }
    }

    /// What the file left to defaults or ignored, each as one sentence for load history: no op
    /// column (every row an upsert), no event-time column (every row at the load's time), columns
    /// the entity does not know.
    ///
    /// For CSV these are known once the reader is created; for JSON Lines once the whole file has
    /// been read (a member counts when any line has it).
    public var warnings: [String] {
        let entity = builder.entity
        var warnings: [String] = []
        let time = builder.defaultEventTime
        switch source {
        case .csv(let csv):
            if !csv.hasOperation {
                warnings.append("no `\(entity.operationColumn)` column: every row is treated as an upsert")
            }
            if !csv.hasEventTime {
                warnings.append(
                    "no `\(entity.eventTimeColumn)` column: every row gets the load's time (\(time)) as its event time"
                )
            }
            if !csv.ignoredColumns.isEmpty {
                warnings.append("columns not in the entity: \(csv.ignoredColumns.joined(separator: ", "))")
            }
            if !csv.missingAttributes.isEmpty {
                warnings.append(
                    "no column for attribute(s) \(csv.missingAttributes.joined(separator: ", ")): NULL in every row"
                )
            }
        case .jsonLines(let json):
            if json.hasObjects, !json.hasOperation {
                warnings.append("no `\(entity.operationColumn)` member in any line: every line is treated as an upsert")
            }
            if json.lacksEventTime {
                warnings.append(
                    "no `\(entity.eventTimeColumn)` member in any line: every line gets the load's time (\(time)) "
                        + "as its event time"
                )
            }
            if !json.ignoredColumns.isEmpty {
                warnings.append("members not in the entity: \(json.ignoredColumns.joined(separator: ", "))")
            }
        }
        return warnings
    }

    /// Reads the next chunk of at most ``ReaderConfiguration/chunkRows`` rows, ending early
    /// after the row that takes it to ``ReaderConfiguration/chunkBytes`` bytes of the file.
    ///
    /// Rows come in file order; every row read lands in exactly one chunk, as a record or a
    /// reject; a chunk holds at least one row.
    ///
    /// - Returns: The chunk, or `nil` at the end of the file.
    /// - Throws: ``FileReadError`` when reading fails. (A NUL byte past the file's first 64 KiB
    ///   rejects its row; one in the first 64 KiB fails the file when it is opened.)
    /// Bytes of the file read up to the end of the last row read.
    private var bytesRead: Int64 {
        switch source {
        case .csv(let csv): csv.bytesRead
        case .jsonLines(let json): json.bytesRead
        }
    }

    public mutating func nextChunk() throws(FileReadError) -> RecordChunk? {
        var records: [ChangeRecord] = []
        var rejects: [RejectedRow] = []
        var widenings: [Column] = []
        records.reserveCapacity(min(chunkRows, 16_384))
        var lastRow: Int64?
        var count = 0
        let start = bytesRead
        let knownUnknown: Int
        if case .jsonLines(let json) = source { knownUnknown = json.ignoredColumns.count } else { knownUnknown = 0 }
        while count < chunkRows, bytesRead - start < chunkBytes {
            let row: Int64?
            switch source {
            case .csv(let csv): row = try csv.readRow(records: &records, rejects: &rejects, widenings: &widenings)
            case .jsonLines(let json):
                row = try json.readRow(records: &records, rejects: &rejects, widenings: &widenings)
            }
            guard let row else { break }
            lastRow = row
            count += 1
        }
        guard let lastRow else { return nil }
        var chunk = RecordChunk(records: records, rejects: rejects, lastRow: lastRow)
        chunk.widenings = widenings
        if case .jsonLines(let json) = source, json.ignoredColumns.count > knownUnknown {
            chunk.unknownColumns = Array(json.ignoredColumns[knownUnknown...])
        }
        return chunk
    }
}
