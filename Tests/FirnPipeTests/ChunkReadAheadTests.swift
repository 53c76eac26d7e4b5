import FirnCore
import Foundation
import Testing

@testable import FirnPipe

/// `ChunkReadAhead` against a `RecordFileReader` read directly: same chunks, same order.
@Suite(.timeLimit(.minutes(1))) struct ChunkReadAheadTests {
    static let header = "customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op\n"

    /// A CSV file of `rows` rows; every seventh row is bad (a timestamp that is not one).
    static func csv(rows: Int, in directory: URL) throws -> String {
        var text = header
        for row in 0..<rows {
            let time = row % 7 == 6 ? "yesterday" : "2026-01-01 00:00:\(String(format: "%02d", row % 60))"
            text += "\(row % 23 + 1),F\(row),L,\"e,\(row)\",S,C,,X,\(time),U\n"
        }
        let url = directory.appendingPathComponent("f-\(rows)-\(UUID().uuidString).csv")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static func reader(_ path: String, chunkRows: Int) throws -> RecordFileReader {
        try RecordFileReader(
            path: path,
            entity: .customer,
            load: 1,
            defaultEventTime: Timestamp(microseconds: 0),
            configuration: ReaderConfiguration(chunkRows: chunkRows)
        )
    }

    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("firn-ahead-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("every chunk arrives once, in file order, for files of no chunk to many")
    func sameChunksAsTheReader() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SystemRandomNumberGenerator()
        let cases =
            [(0, 10), (1, 10), (10, 10), (11, 10), (20, 10), (21, 10), (95, 10), (40, 1)]
            + (0..<12).map { _ in (Int.random(in: 0...80, using: &random), Int.random(in: 1...9, using: &random)) }
        for (rows, chunkRows) in cases {
            let path = try Self.csv(rows: rows, in: directory)
            var direct = try Self.reader(path, chunkRows: chunkRows)
            var expected: [RecordChunk] = []
            while let chunk = try direct.nextChunk() { expected.append(chunk) }

            let ahead = ChunkReadAhead(try Self.reader(path, chunkRows: chunkRows))
            var got: [RecordChunk] = []
            while let chunk = try ahead.next() { got.append(chunk) }
            #expect(got == expected, "\(rows) rows in chunks of \(chunkRows)")
            #expect(try ahead.next() == nil, "stays at the end")
            #expect(got.count == (rows + chunkRows - 1) / chunkRows)
        }
    }

    @Test("stopping part way lets the reading thread end, and the caller gets at most what was read")
    func stopPartWay() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Self.csv(rows: 500, in: directory)
        let ahead = ChunkReadAhead(try Self.reader(path, chunkRows: 10))
        for _ in 0..<3 { #expect(try ahead.next() != nil) }
        ahead.stop()
        var after = 0
        while try ahead.next() != nil { after += 1 }
        #expect(after <= 1, "only a chunk already handed over may still come")
    }

    @Test("JSON Lines members first seen near the end are reported as ignored")
    func ignoredColumnsSeenLate() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var text = ""
        for row in 1...35 {
            let extra = row == 33 ? ", \"loyalty\": 3" : ""
            text += "{\"customer_id\": \(row), \"update_timestamp\": \"2026-01-01T00:00:00Z\"\(extra)}\n"
        }
        let url = directory.appendingPathComponent("late.jsonl")
        try text.write(to: url, atomically: true, encoding: .utf8)
        let ahead = ChunkReadAhead(try Self.reader(url.path, chunkRows: 4))
        var records = 0
        while let chunk = try ahead.next() { records += chunk.records.count }
        #expect(records == 35)
        #expect(ahead.ignoredColumns == ["loyalty"])
    }
}
