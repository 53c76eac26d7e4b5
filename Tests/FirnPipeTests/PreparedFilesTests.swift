import FirnCore
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

@testable import FirnPipe

/// Files prepared before their turn (`PreparedFiles`, as the pipe prepares announced objects)
/// load exactly as files read in their turn: a stale read is read again, another version of a
/// file is not used, and the holding stays bounded.
@Suite struct PreparedFilesTests {
    static func write(_ dir: URL, _ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Every file prepared with the entity as it is before any loads: `b.csv` then adds a
    /// column, so `c.csv`'s prepared records are stale and must be read again; a JSON Lines
    /// file without event times must take its load's time, not the placeholder; `d.csv` is
    /// prepared as another version than the one loaded, so its entry is not used.
    @Test(arguments: TestBackend.allCases) func preparedFilesLoadAsInTheirTurn(backend: TestBackend) async throws {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let header = FileLoaderEvolutionTests.header
        let paths = [
            try Self.write(
                dir,
                "a.csv",
                header
                    + "\n1,Ann,Lee,a@x,S,Oslo,,NO,2026-01-01 10:00:00,I\n2,Bob,Ray,b@x,S,Oslo,,NO,2026-01-01 10:00:00,I\n"
            ),
            try Self.write(dir, "b.csv", header + ",tier\n1,Ann,Lee,a@x,S,Oslo,,NO,2026-01-02 10:00:00,U,3\n"),
            try Self.write(
                dir,
                "c.csv",
                header
                    + ",tier\n2,Bob,Ray,b@x,S,Oslo,,NO,2026-01-03 10:00:00,U,7\n3,Cy,Fox,c@x,S,Oslo,,NO,2026-01-03 10:00:00,I,1\n"
            ),
            try Self.write(dir, "e.jsonl", #"{"customer_id": 4, "first_name": "Di"}"# + "\n"),
            try Self.write(dir, "d.csv", header + "\n1,Ann,Lee,a@x,S,Bergen,,NO,2026-01-01 09:00:00,U\n"),
        ]
        let files = paths.enumerated().map { FileToLoad(path: $1, version: "v\($0)") }
        let reader = ReaderConfiguration()
        let entity = FileLoaderEvolutionTests.entity

        let single = try await TestWarehouse.open(backend, entity: entity)
        var expected: [FileLoadReport] = []
        for path in paths {
            expected.append(try await FileLoader(warehouse: single.warehouse, reader: reader).load(path))
        }

        let prepared = PreparedFiles(rowLimit: 1_000)
        for file in files.dropLast() { prepared.prepare(file, entity: entity, configuration: reader) }
        var other = files[4]
        other.version = "an older ETag"
        prepared.prepare(other, entity: entity, configuration: reader)
        #expect(prepared.count == 5)

        let started = Timestamp.now()
        let batched = try await TestWarehouse.open(backend, entity: entity)
        var loader = FileLoader(warehouse: batched.warehouse, reader: reader)
        loader.preparedFiles = prepared
        let reports = try await loader.load(files)
        #expect(reports.map(\.status) == [.loaded, .loaded, .loaded, .loaded, .loaded])
        #expect(reports.map(\.status) == expected.map(\.status))
        #expect(reports.map(\.counts.staged) == expected.map(\.counts.staged))
        #expect(reports.map(\.ignoredColumns) == expected.map(\.ignoredColumns))
        // The same warnings, but for the load's own time that a file without event times names.
        let untimed = { (warnings: [String]) in
            warnings.map { $0.replacingOccurrences(of: #"\(\d{4}-[^)]*\)"#, with: "(…)", options: .regularExpression) }
        }
        #expect(reports.map { untimed($0.warnings) } == expected.map { untimed($0.warnings) })
        #expect(reports.map(\.summary?.checksum) == expected.map(\.summary?.checksum))
        // Four entries taken (a, b, c, e); the other version's is left.
        #expect(prepared.taken == 4 && prepared.count == 1)

        // The JSON Lines row took each load's own time: the tables are compared without it.
        let current = "SELECT customer_id, first_name, city, tier FROM customer ORDER BY 1"
        #expect(
            try await batched.warehouse.query(current).result.rows == single.warehouse.query(current).result.rows
        )
        let tiers = try await batched.warehouse.query("SELECT customer_id, tier FROM customer ORDER BY 1").result
        #expect(
            tiers.rows == [
                [.integer(1), .integer(3)], [.integer(2), .integer(7)], [.integer(3), .integer(1)],
                [.integer(4), .null],
            ]
        )
        let time = try await batched.warehouse.query("SELECT update_timestamp FROM customer WHERE customer_id = 4")
            .result
        guard case .text(let text)? = time.rows.first?.first, let stored = Timestamp(canonical: text) else {
            Issue.record("no event time for customer 4: \(time.rows)")
            return
        }
        #expect(stored >= Timestamp(microseconds: started.microseconds - 1_000_000))
        let history = try await batched.warehouse.query(
            "SELECT customer_id, city, tier FROM customer_history ORDER BY customer_id, start_time"
        ).result
        let expectedHistory = try await single.warehouse.query(
            "SELECT customer_id, city, tier FROM customer_history ORDER BY customer_id, start_time"
        ).result
        #expect(history.rows == expectedHistory.rows)
    }

    /// Nothing more is held once the entries hold their rows' limit; a file a loader looked for
    /// before it was ready is not held when it becomes ready; an entry taken by a group it did
    /// not fit is held again.
    @Test func holdingIsBounded() async throws {
        let dir = try FileLoaderTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try (0..<4).map { index -> FileToLoad in
            let url = dir.appendingPathComponent("f\(index).csv")
            try FileLoaderTests.writeFile(url, rows: 30, keys: 10)
            return FileToLoad(path: url.path, version: "1")
        }
        let reader = ReaderConfiguration()
        let prepared = PreparedFiles(rowLimit: 50)
        prepared.prepare(files[0], entity: .customer, configuration: reader)
        prepared.prepare(files[1], entity: .customer, configuration: reader)
        // 60 rows held: over the limit, so the third is not prepared.
        prepared.prepare(files[2], entity: .customer, configuration: reader)
        #expect(prepared.count == 2)

        // Looked for before it was prepared: not held afterwards.
        #expect(prepared.take(files[3]) == nil)
        let entry = try #require(prepared.take(files[0]))
        prepared.prepare(files[3], entity: .customer, configuration: reader)
        #expect(prepared.count == 1)

        // Taken and given back: held again, and taken once.
        prepared.putBack(files[0], entry)
        #expect(prepared.count == 2 && prepared.taken == 0)
        #expect(prepared.take(files[0])?.read?.chunk.records.count == 30)
        #expect(prepared.taken == 1)

        // At most two files held, whatever their rows; and none kept past its lifetime.
        let few = PreparedFiles(rowLimit: 1_000, fileLimit: 2, lifetime: .seconds(2))
        for file in files { few.prepare(file, entity: .customer, configuration: reader) }
        #expect(few.count == 2 && few.isFull)
        try await Task.sleep(for: .milliseconds(2_200))
        #expect(few.take(files[3]) == nil)
        #expect(few.count == 0)
        few.prepare(files[2], entity: .customer, configuration: reader)
        few.removeAll()
        #expect(few.count == 0 && few.take(files[2]) == nil)
    }
}
