import Foundation
import Testing

@testable import FirnCore

/// A fresh temporary directory for one test, removed when the value goes away.
final class TestDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("firn-reading-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `bytes` to `name` in the directory and returns its path.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String = "changes.csv") throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Writes `text` as UTF-8 to `name` in the directory and returns its path.
    @discardableResult
    func write(_ text: String, to name: String = "changes.csv") throws -> String {
        try write(Array(text.utf8), to: name)
    }
}

/// Everything a file gives: records and rejects of all chunks, and the chunks' last rows.
struct FileContents {
    var records: [ChangeRecord] = []
    var rejects: [RejectedRow] = []
    var lastRows: [Int64] = []
    var chunkSizes: [Int] = []
}

let loadTime = Timestamp(year: 2026, month: 1, day: 2, hour: 3)!

/// Reads a whole file with a ``RecordFileReader``.
func readFile(
    _ path: String,
    entity: EntityConfiguration = .customer,
    load: Int64 = 7,
    format: FileFormat? = nil,
    configuration: ReaderConfiguration = .init()
) throws(FileReadError) -> FileContents {
    var reader = try RecordFileReader(
        path: path,
        entity: entity,
        load: load,
        defaultEventTime: loadTime,
        format: format,
        configuration: configuration
    )
    var contents = FileContents()
    while let chunk = try reader.nextChunk() {
        contents.records += chunk.records
        contents.rejects += chunk.rejects
        contents.lastRows.append(chunk.lastRow)
        contents.chunkSizes.append(chunk.records.count + chunk.rejects.count)
    }
    return contents
}

/// The file-level error reading `path` throws, or `nil`.
func fileError(_ path: String, entity: EntityConfiguration = .customer, format: FileFormat? = nil) -> FileReadError? {
    do {
        _ = try readFile(path, entity: entity, format: format)
        return nil
    } catch {
        return error
    }
}

/// Reads a CSV file with a ``CSVReader``: each row's number, fields (nil for NULL) and problem.
func csvRows(
    _ path: String,
    maxFieldBytes: Int = 1 << 20,
    readBufferBytes: Int = 1 << 20
) throws -> (header: [String], rows: [(row: Int64, fields: [String?], raw: String, problem: String?)]) {
    let reader = try CSVReader(path: path, maxFieldBytes: maxFieldBytes, readBufferBytes: readBufferBytes)
    var rows: [(Int64, [String?], String, String?)] = []
    var scratch: [UInt8] = []
    while try reader.nextRow() {
        let fields = reader.raw.withUnsafeBufferPointer { raw in
            reader.fields.map { field -> String? in
                CSVReader.withText(of: field, in: raw, scratch: &scratch) { text in
                    text.isEmpty && !field.isQuoted ? nil : String(decoding: text, as: UTF8.self)
                }
            }
        }
        rows.append((reader.rowNumber, fields, reader.raw.rejectedText(fullLength: reader.rawLength), reader.problem))
    }
    return (reader.header, rows)
}

/// A typed entity for column-type tests.
let accountEntity = try! EntityConfiguration(
    name: "account",
    keyColumns: [Column("region"), Column("account_id", .integer)],
    attributeColumns: [
        Column("name"), Column("balance", .decimal), Column("active", .boolean), Column("opened", .date),
        Column("seen", .timestamp), Column("age", .integer),
    ],
    eventTimeColumn: "changed_at",
    operationColumn: "action"
)

/// A customer CSV header with every column.
let customerHeader = "customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op"

/// A customer CSV row with every column.
func customerRow(_ id: Int, city: String = "Oslo", time: String = "2026-11-24 10:15:30", op: String = "I") -> String {
    "\(id),Ada,Lovelace,ada@example.com,1 Main St,\(city),OS,NO,\(time),\(op)"
}
