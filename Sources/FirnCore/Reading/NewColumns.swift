extension RecordFileReader {
    /// The columns of a file that the entity does not have, typed by their values in the file
    /// (``TypeInference``), for ``SchemaEvolution/evolve``; empty when it has none.
    ///
    /// CSV: the header's columns; JSON Lines: the members of any line. Reads the whole file once
    /// when it has any (the values decide the types), only the header (or a scan for members)
    /// otherwise. Rows the wider entity would reject (a bad key, a JSON object as a value) say
    /// nothing about the types. Columns without a name are not columns and stay ignored.
    ///
    /// - Throws: ``FileReadError/cannotAddColumns(path:columns:reason:)`` when a name cannot be
    ///   a column (not an identifier, reserved, taken by Firn's tables), or what reading throws.
    public static func newColumns(
        in snapshot: FileSnapshot,
        entity: EntityConfiguration,
        format: FileFormat? = nil,
        configuration: ReaderConfiguration = .init()
    ) throws(FileReadError) -> [Column] {
        let format = format ?? FileFormat(path: snapshot.path)
        // Unknown columns are what is asked for here, not a reason to refuse the file.
        var probing = entity
        if probing.schemaEvolution == .reject { probing.schemaEvolution = .ignore }
        let names: [String]
        do {
            let reader = try RecordFileReader(
                snapshot: snapshot,
                entity: probing,
                load: 0,
                defaultEventTime: Timestamp(microseconds: 0),
                format: format,
                configuration: configuration
            )
            names = try reader.unknownColumns()
        }
        guard !names.isEmpty else { return [] }
        var columns: [Column] = []
        var wider: EntityConfiguration
        do {
            for name in names { columns.append(Column(try Identifier(validating: name.trimmingSpaces()), .text)) }
            wider = try probing.addingEvolved(columns)
        } catch {
            throw .cannotAddColumns(path: snapshot.path, columns: names, reason: error.description)
        }
        var reader = try RecordFileReader(
            snapshot: snapshot,
            entity: wider,
            load: 0,
            defaultEventTime: Timestamp(microseconds: 0),
            format: format,
            configuration: configuration
        )
        let first = entity.attributeColumns.count
        var inferences = Array(repeating: TypeInference(), count: columns.count)
        while let chunk = try reader.nextChunk() {
            for record in chunk.records {
                for index in inferences.indices {
                    if case .text(let text) = record.attributes[first + index] { inferences[index].observe(text) }
                }
            }
        }
        for index in columns.indices { columns[index].type = inferences[index].type }
        return columns
    }

    /// The unknown columns (CSV: the header's, named ones only; JSON Lines: every line's members).
    private func unknownColumns() throws(FileReadError) -> [String] {
        switch source {
        case .csv(let csv): csv.ignoredColumns.filter { !$0.hasPrefix("(column ") }
        case .jsonLines(let json): try json.unknownMembers()
        }
    }
}
