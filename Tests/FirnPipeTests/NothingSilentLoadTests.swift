import FirnCore
import FirnObjectStore
import FirnPipe
import FirnTestSupport
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import NIOCore
import Testing

/// Issue 11, "Nothing silent": what a file does not say (an op or event-time column, a member
/// of a JSON line) and what happens to it while it loads (it grows) is never lost quietly.
@Suite struct NothingSilentLoadTests {
    let dir: URL

    init() throws {
        dir = try FileLoaderTests.temporaryDirectory()
    }

    /// A customer file whose op and event-time columns are misnamed: `operation` and `updated`.
    static let misnamedColumns = """
        customer_id,first_name,last_name,email,street,city,state,country,updated,operation
        1,Ada,Lovelace,ada@x,1 Main St,Oslo,,NO,2026-01-01 10:00:00,I
        1,Ada,Lovelace,ada@x,1 Main St,Oslo,,NO,2026-01-01 11:00:00,D

        """

    /// The `warnings` of load history's newest row.
    static func newestWarnings(_ warehouse: SQLiteWarehouse) async throws -> String? {
        let history = try await warehouse.loadHistoryTable()
        guard let column = history.columns.firstIndex(of: "warnings"), let row = history.rows.first else {
            return nil
        }
        if case .text(let text) = row[column] { return text }
        return nil
    }

    /// The warnings of the misnamed file: under `schema_evolution: evolve` (the default) the
    /// misnamed columns were added as attributes, under `ignore` dropped.
    static func expectMisnamedColumnWarnings(
        _ warnings: String?,
        evolved: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let text = warnings ?? "(none)"
        #expect(
            text.contains("no `op` column: every row is treated as an upsert"),
            "\(text)",
            sourceLocation: sourceLocation
        )
        #expect(text.contains("no `update_timestamp` column"), "\(text)", sourceLocation: sourceLocation)
        #expect(
            text.contains(
                evolved
                    ? "new column(s) added to the entity (schema_evolution: evolve): updated timestamp, operation text"
                    : "columns not in the entity: updated, operation"
            ),
            "\(text)",
            sourceLocation: sourceLocation
        )
    }

    /// `schema_evolution: reject`: a file with a column the entity lacks fails as a whole, its
    /// reason naming the columns, whether loaded alone or in a batch; a JSON Lines file too when
    /// only its last line has an unknown member (no earlier line loads); a file with none loads.
    @Test func underRejectAFileWithUnknownColumnsLoadsNothing() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        var entity = EntityConfiguration.customer
        entity.schemaEvolution = .reject
        let csv = dir.appendingPathComponent("extra.csv")
        try Self.misnamedColumns.write(to: csv, atomically: true, encoding: .utf8)
        let json = dir.appendingPathComponent("late-member.jsonl")
        let line = { (time: String, extra: String) in
            #"{"customer_id": 1, "first_name": "Ada", "last_name": "L", "email": "a@x", "street": "1 Main St", "#
                + #""city": "Oslo", "state": null, "country": "NO", "update_timestamp": "\#(time)"\#(extra)}"#
        }
        try [line("2026-01-01 10:00:00", ""), line("2026-01-01 11:00:00", #", "loyalty_tier": "gold""#)]
            .joined(separator: "\n").write(to: json, atomically: true, encoding: .utf8)
        let clean = dir.appendingPathComponent("clean.jsonl")
        try line("2026-01-01 09:00:00", "").write(to: clean, atomically: true, encoding: .utf8)
        let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("w.sqlite").path, entity: entity)
        let loader = FileLoader(warehouse: warehouse)

        let alone = try await loader.load(csv.path)
        #expect(alone.status == .failed)
        #expect(
            alone.error?.contains("column(s) updated, operation not in entity customer, which says schema_evolution: reject")
                == true,
            "\(String(describing: alone.error))"
        )
        let batch = try await loader.load([FileToLoad(path: json.path), FileToLoad(path: clean.path)])
        #expect(batch.map(\.status) == [.failed, .loaded])
        #expect(batch[0].error?.contains("column(s) loyalty_tier not in entity customer") == true, "\(batch[0])")
        await #expect(try warehouse.query("SELECT count(*) FROM customer_raw").result.rows == [[.integer(1)]])
        let failed = try await warehouse.query("SELECT count(*) FROM firn_loads WHERE status = 'failed'").result
        #expect(failed.rows == [[.integer(2)]])
    }

    /// Under `schema_evolution: ignore` the misnamed columns are dropped, and named.
    @Test func underIgnoreUnknownColumnsAreNamedInLoadHistory() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("misnamed.csv")
        try Self.misnamedColumns.write(to: file, atomically: true, encoding: .utf8)
        var entity = EntityConfiguration.customer
        entity.schemaEvolution = .ignore
        let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("w.sqlite").path, entity: entity)
        let report = try await FileLoader(warehouse: warehouse).load(file.path)
        #expect(report.status == .loaded)
        #expect(report.ignoredColumns == ["updated", "operation"])
        await Self.expectMisnamedColumnWarnings(try Self.newestWarnings(warehouse), evolved: false)
        #expect(warehouse.entity.attributeColumns == EntityConfiguration.customer.attributeColumns)
    }

    @Test func misnamedOpAndEventTimeColumnsAreWarnedAboutInLoadHistory() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("misnamed.csv")
        try Self.misnamedColumns.write(to: file, atomically: true, encoding: .utf8)
        let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("w.sqlite").path)
        let report = try await FileLoader(warehouse: warehouse).load(file.path)
        #expect(report.status == .loaded)
        #expect(report.counts.staged == 2)
        await Self.expectMisnamedColumnWarnings(try Self.newestWarnings(warehouse))
        // The behaviour stays: both rows are upserts at the load's time (the second wins).
        await #expect(try warehouse.query("SELECT count(*) FROM customer").result.rows == [[.integer(1)]])
    }

    @Test func thePipeRecordsMisnamedColumnWarningsInLoadHistory() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let bucket = try DirectoryBucket(root: dir.appendingPathComponent("bucket").path)
        let object = try await bucket.put(
            ByteBuffer(string: Self.misnamedColumns),
            key: try ObjectKey("2026/11/25/misnamed.csv")
        )
        let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("firn.sqlite").path)
        let pipe = AutoIngestPipe(
            store: bucket,
            warehouse: warehouse,
            configuration: PipeConfiguration(downloadDirectory: dir.appendingPathComponent("downloads").path)
        )
        pipe.announce(object)
        #expect(try await runServices([pipe.run], for: 120) { pipe.statistics.objectsLoaded == 1 })
        await Self.expectMisnamedColumnWarnings(try Self.newestWarnings(warehouse))
    }

    @Test func aFileThatGrowsWhileItLoadsIsNeverStagedTwice() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("changes.csv")
        let complete = dir.appendingPathComponent("complete/changes.csv")
        try FileManager.default.createDirectory(
            at: complete.deletingLastPathComponent(),
            withIntermediateDirectories: true
        )
        // The first 40 rows of a 60-row file, then the other 20 appended while the load runs.
        try FileLoaderTests.writeFile(file, rows: 40, keys: 12)
        try FileLoaderTests.writeFile(complete, rows: 60, keys: 12)
        let head = try Data(contentsOf: file)
        let whole = try Data(contentsOf: complete)
        #expect(whole.prefix(head.count) == head)
        let reader = ReaderConfiguration(chunkRows: 5)

        let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("w.sqlite").path)
        var appended = false
        let first = try await FileLoader(warehouse: warehouse, reader: reader).load(file.path) { _ in
            guard !appended else { return }
            appended = true
            let handle = try! FileHandle(forWritingTo: file)
            try! handle.seekToEnd()
            try! handle.write(contentsOf: whole.suffix(from: head.count))
            try! handle.close()
        }
        #expect(first.status == .failed)
        #expect(first.error?.contains("changed while it was being loaded") == true, "\(first.error ?? "")")
        let second = try await FileLoader(warehouse: warehouse, reader: reader).load(file.path)
        #expect(second.status == .loaded)
        let third = try await FileLoader(warehouse: warehouse, reader: reader).load(file.path)
        #expect(third.status == .skipped)

        let staged = try await warehouse.query(
            "SELECT count(*), count(DISTINCT source_row), max(source_row) FROM customer_raw"
        ).result.rows
        #expect(staged == [[.integer(60), .integer(60), .integer(60)]], "every row staged exactly once")
        let clean = try SQLiteWarehouse(path: dir.appendingPathComponent("clean.sqlite").path)
        await #expect(try FileLoader(warehouse: clean, reader: reader).load(complete.path).status == .loaded)
        await #expect(try FileLoaderTests.tables(clean) == FileLoaderTests.tables(warehouse))
    }

    /// The customer records a JSON line gives, for the reference model.
    static func record(_ id: Int64, _ firstName: String, at time: Timestamp, load: Int64, row: Int64) -> ChangeRecord {
        ChangeRecord(
            key: Key(id),
            eventTime: time,
            operation: .upsert,
            attributes: [.text(firstName), .null, .null, .null, .null, .null, .null],
            arrival: Arrival(load: load, row: row)
        )
    }

    static func historyRows(_ warehouse: SQLiteWarehouse) async throws -> [[Cell]] {
        try await warehouse.query(
            "SELECT customer_id, first_name, last_name, email, street, city, state, country, start_time, end_time, "
                + "is_current FROM customer_history ORDER BY customer_id, start_time"
        ).result.rows.map { $0.map(Cell.init) }
    }

    @Test func aJSONLineWithoutEventTimeIsRejectedWhenOtherLinesOfItsFileHaveOne() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("w.sqlite").path)
        let first = dir.appendingPathComponent("first.jsonl")
        try """
        {"customer_id": 1, "first_name": "A", "update_timestamp": "2026-01-01 10:00:00"}
        {"customer_id": 1, "first_name": "B"}
        {"customer_id": 1, "first_name": "C", "update_timestamp": "2026-01-01 09:00:00"}
        {"customer_id": 2, "first_name": "D"}
        """.write(to: first, atomically: true, encoding: .utf8)
        // Here the first line is the one without a time.
        let second = dir.appendingPathComponent("second.jsonl")
        try """
        {"customer_id": 3, "first_name": "E"}
        {"customer_id": 3, "first_name": "F", "update_timestamp": "2026-01-01 08:00:00"}
        """.write(to: second, atomically: true, encoding: .utf8)
        let loader = FileLoader(warehouse: warehouse)
        let reports = [try await loader.load(first.path), try await loader.load(second.path)]
        #expect(reports.map(\.status) == [.loaded, .loaded])
        #expect(reports.map(\.rejected) == [2, 1])
        let rejects = try await warehouse.rejectsTable().rows
        #expect(
            rejects.map { [$0[1], $0[2]] } == [
                [.text("first.jsonl"), .integer(2)], [.text("first.jsonl"), .integer(4)],
                [.text("second.jsonl"), .integer(1)],
            ]
        )
        #expect(rejects.allSatisfy { $0[3].description.contains("missing update_timestamp") }, "\(rejects)")

        let time = { (hour: Int) in Timestamp(year: 2026, month: 1, day: 1, hour: hour)! }
        let expected = ReferenceModel.history([
            Self.record(1, "A", at: time(10), load: 1, row: 1),
            Self.record(1, "C", at: time(9), load: 1, row: 3),
            Self.record(3, "F", at: time(8), load: 2, row: 2),
        ])
        await #expect(try Self.historyRows(warehouse) == expected.map(\.historyRow))
    }

    @Test func aJSONFileWithoutAnyEventTimeGetsTheLoadTimeForEveryLine() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let warehouse = try SQLiteWarehouse(path: dir.appendingPathComponent("w.sqlite").path)
        let file = dir.appendingPathComponent("untimed.jsonl")
        try """
        {"customer_id": 1, "first_name": "A"}
        {"customer_id": 2, "first_name": "B"}
        {"customer_id": 1, "first_name": "C"}
        """.write(to: file, atomically: true, encoding: .utf8)
        let report = try await FileLoader(warehouse: warehouse).load(file.path)
        #expect(report.status == .loaded)
        #expect(report.rejected == 0)
        let loadTime = try await warehouse.query("SELECT event_time_default FROM firn_loads").result.rows[0][0]
        let time = try #require(Timestamp(canonical: loadTime.description))
        let expected = ReferenceModel.history([
            Self.record(1, "A", at: time, load: 1, row: 1),
            Self.record(2, "B", at: time, load: 1, row: 2),
            Self.record(1, "C", at: time, load: 1, row: 3),
        ])
        await #expect(try Self.historyRows(warehouse) == expected.map(\.historyRow))
        await #expect(try Self.newestWarnings(warehouse)?.contains("no `update_timestamp` member") == true)
    }
}
