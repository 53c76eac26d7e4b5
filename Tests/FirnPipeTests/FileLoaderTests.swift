import FirnCore
import FirnTestSupport
import FirnPipe
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import Testing

@Suite struct FileLoaderTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("firn-pipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A file of `rows` rows over `keys` keys, at times from `offset` seconds on (every 17th row
    /// 40 seconds late, every 13th a delete).
    static func writeFile(_ url: URL, rows: Int, keys: Int, offset: Int = 0) throws {
        var text = "customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op\n"
        for row in 1...rows {
            let key = row % keys + 1
            let op = row % 13 == 0 ? "D" : "U"
            let minute = (row % 17 == 0 ? row - 40 : row) + offset
            text += "\(key),F\(row % 5),L,e\(row % 3)@x,\(row) St,City,,C,"
            text += "2026-01-01 00:00:00+00:00".replacingOccurrences(of: "00:00:00", with: clock(minute)) + ",\(op)\n"
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    static func clock(_ minute: Int) -> String {
        let total = minute + 10_000
        return String(format: "%02d:%02d:%02d", total / 3600 % 24, total / 60 % 60, total % 60)
    }

    static func tables(_ warehouse: any Warehouse) async throws -> [QueryResult] {
        try await warehouse.results([
            "SELECT * FROM customer ORDER BY customer_id",
            "SELECT * FROM customer_history ORDER BY customer_id, start_time",
            "SELECT source_row, customer_id, update_timestamp, op FROM customer_raw ORDER BY source_row",
        ])
    }

    @Test func interruptedLoadResumesAfterLastCommittedChunk() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("changes.csv")
        try Self.writeFile(file, rows: 2_500, keys: 300)
        let reader = ReaderConfiguration(chunkRows: 300)

        let clean = try SQLiteWarehouse(path: dir.appendingPathComponent("clean.sqlite").path)
        let report = try await FileLoader(warehouse: clean, reader: reader).load(file.path)
        #expect(report.status == .loaded)
        #expect(report.counts.staged == 2_500)

        // An attempt that committed three chunks, then died.
        let resumed = try SQLiteWarehouse(path: dir.appendingPathComponent("resumed.sqlite").path)
        let checksum = try await clean.query("SELECT checksum FROM firn_loads").result.rows[0][0].description
        let content = FileContent(
            name: "changes.csv",
            checksum: checksum,
            sizeBytes: Int64(try Data(contentsOf: file).count)
        )
        guard case .load(let ticket) = try await resumed.beginLoad(content) else {
            Issue.record("expected a new load")
            return
        }
        var partial = try RecordFileReader(
            path: file.path,
            entity: .customer,
            load: ticket.id,
            defaultEventTime: ticket.defaultEventTime,
            configuration: reader
        )
        for _ in 0..<3 { try await resumed.applyChunk(ticket, #require(try partial.nextChunk())) }

        let second = try await FileLoader(warehouse: resumed, reader: reader).load(file.path)
        #expect(second.status == .loaded)
        #expect(second.counts.staged == 2_500 - 900)
        await #expect(try Self.tables(clean) == Self.tables(resumed))

        let third = try await FileLoader(warehouse: resumed, reader: reader).load(file.path)
        #expect(third.status == .skipped)
    }

    @Test func missingFileIsRecordedAsFailed() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("w.sqlite").path)
        let report = try await FileLoader(warehouse: warehouse).load(dir.appendingPathComponent("absent.csv").path)
        #expect(report.status == .failed)
        #expect(report.error?.contains("absent.csv") == true)
        let history = try await warehouse.loadHistoryTable().rows
        #expect(history.count == 1)
    }
}
