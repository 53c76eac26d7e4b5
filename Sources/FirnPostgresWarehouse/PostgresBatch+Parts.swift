import FirnCore
import FirnWarehouse
import PostgresNIO

/// Several files' records applied as one batch (see `PostgresWarehouse.applyChunks(_:)`):
/// where each file's records are, for staging and late records, and what each file's records
/// did (``BatchParts``). Used by one batch's task only.
final class PostgresBatchParts {
    /// One file's records in the batch.
    struct File: Sendable {
        var range: Range<Int>
        var loadID: Int64
        var sourceFile: String
    }

    let files: [File]
    var counts: BatchParts

    /// The files, in arrival order, and their chunk ids (ascending).
    init(files: [File], chunks: [Int64]) {
        self.files = files
        counts = BatchParts(chunks: chunks, loadIDs: files.map(\.loadID))
    }
}

extension PostgresBatch {
    /// Copies several files' records into staging in one `COPY`, each file's rows with its
    /// load and name.
    func stage(_ records: [ChangeRecord], files: [PostgresBatchParts.File], loadedAt: Timestamp) async throws {
        let width = schema.entity.attributeColumns.count
        try await connection.copyFrom(
            table: schema.entity.rawTable.normalized,
            columns: schema.rawColumns,
            logger: logger
        ) {
            writer in
            for file in files {
                var start = file.range.lowerBound
                while start < file.range.upperBound {
                    let end = min(start + Self.stagingSlice, file.range.upperBound)
                    let rows = Self.stagingRows(
                        records[start..<end],
                        loadID: file.loadID,
                        sourceFile: file.sourceFile,
                        loadedAt: loadedAt,
                        width: width
                    )
                    try await writer.write(rows.buffer)
                    start = end
                }
            }
        }
    }
}
