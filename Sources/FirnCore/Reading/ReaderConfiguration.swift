/// The format of a change file.
public enum FileFormat: String, Sendable, Hashable, CaseIterable {
    /// RFC 4180 CSV with a header row.
    case csv
    /// JSON Lines: one JSON object per line.
    case jsonLines

    /// The format a file name implies: `.jsonl`, `.ndjson` and `.json` (any case) are
    /// ``jsonLines``, anything else ``csv``. (A `.json` file holding one JSON array instead of
    /// one object per line is refused by `firn load` with a reason.)
    ///
    /// - Parameter path: The file's path or name.
    public init(path: String) {
        let lower = path.lowercased()
        let json = [".jsonl", ".ndjson", ".json"].contains { lower.hasSuffix($0) }
        self = json ? .jsonLines : .csv
    }
}

/// Limits and batch sizes of a ``RecordFileReader``.
public struct ReaderConfiguration: Sendable, Hashable {
    /// The largest field, in bytes, before its row is rejected. Defaults to `1 << 20` (1 MiB).
    ///
    /// A CSV row may hold at most this many bytes per header column (so memory stays bounded
    /// however long a broken row runs); a JSON Lines line at most eight times this.
    public var maxFieldBytes: Int
    /// The most rows (records and rejects) one ``RecordChunk`` holds. Defaults to `100_000`.
    ///
    /// A chunk is one transaction: larger chunks commit less often and load faster, at the
    /// cost of the memory of the chunks held (up to three), which ``chunkBytes`` also bounds.
    public var chunkRows: Int
    /// The most bytes of the file one chunk is read from: a chunk ends after the row that
    /// reaches it, or at ``chunkRows``, whichever comes first. Defaults to `16 << 20` (16 MiB).
    ///
    /// So wide rows make chunks of fewer rows, and the memory a chunk takes stays bounded
    /// whatever the rows' width.
    public var chunkBytes: Int
    /// How many bytes are read from the file at a time. Defaults to `1 << 20` (1 MiB); at least 16.
    ///
    /// Peak memory is a few times this plus one chunk of records, whatever the file's size.
    public var readBufferBytes: Int

    /// Creates a configuration; values below the minimums (1 byte, 1 row, 1 byte, 16 bytes)
    /// are raised to them.
    ///
    /// - Parameters:
    ///   - maxFieldBytes: The field size limit. Defaults to 1 MiB.
    ///   - chunkRows: Rows per chunk. Defaults to `100_000`.
    ///   - chunkBytes: File bytes per chunk. Defaults to 16 MiB.
    ///   - readBufferBytes: The read size. Defaults to 1 MiB.
    public init(
        maxFieldBytes: Int = 1 << 20,
        chunkRows: Int = 100_000,
        chunkBytes: Int = 16 << 20,
        readBufferBytes: Int = 1 << 20
    ) {
        self.maxFieldBytes = max(1, maxFieldBytes)
        self.chunkRows = max(1, chunkRows)
        self.chunkBytes = max(1, chunkBytes)
        self.readBufferBytes = max(16, readBufferBytes)
    }
}

/// Up to ``ReaderConfiguration/chunkRows`` consecutive rows of a file (fewer when they span
/// ``ReaderConfiguration/chunkBytes``), as records and rejects.
public struct RecordChunk: Sendable, Hashable {
    /// The rows that became records, in file order.
    public var records: [ChangeRecord]
    /// The rows that were rejected, in file order.
    public var rejects: [RejectedRow]
    /// The row number of the last row read into this chunk (a record or a reject).
    public var lastRow: Int64
    /// JSON Lines members the entity does not know that first appear in this chunk's lines,
    /// as written (a CSV file's are known from its header: ``RecordFileReader/ignoredColumns``).
    public var unknownColumns: [String] = []
    /// Under ``SchemaEvolution/evolve``, attributes with the wider type some rejected row of
    /// this chunk fits (``FieldValueError/widening``), each once: widened, the chunk is read
    /// again and those rows load.
    public var widenings: [Column] = []

    /// Creates a chunk.
    public init(records: [ChangeRecord], rejects: [RejectedRow], lastRow: Int64) {
        self.records = records
        self.rejects = rejects
        self.lastRow = lastRow
    }
}
