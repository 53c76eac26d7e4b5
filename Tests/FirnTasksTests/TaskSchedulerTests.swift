import FirnCore
import FirnTasks
import FirnTestSupport
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import Testing

@Suite("Task scheduler", .serialized)
struct TaskSchedulerTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("firn-tasks-\(UUID().uuidString)").path

    func warehouse() async throws -> SQLiteWarehouse {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        _ = try await warehouse.query("CREATE TABLE IF NOT EXISTS audit (task TEXT, at TEXT)")
        return warehouse
    }

    static func sql(_ name: String, _ trigger: TaskDefinition.Trigger, _ sql: String? = nil) -> TaskDefinition {
        TaskDefinition(
            name: name,
            trigger: trigger,
            action: .sql(sql ?? "INSERT INTO audit VALUES ('\(name)', strftime('%Y-%m-%d %H:%M:%f', 'now'))")
        )
    }

    /// Runs the scheduler until `condition` holds or `seconds` pass.
    static func run(
        _ scheduler: TaskScheduler,
        for seconds: Double = 60,
        until condition: () async throws -> Bool
    )
        async throws -> Bool
    {
        try await runServices([scheduler.run], for: seconds, until: condition)
    }

    static func count(_ warehouse: SQLiteWarehouse, _ sql: String) async throws -> Int64 {
        guard case .integer(let value) = try await warehouse.query(sql).result.rows.first?.first else { return -1 }
        return value
    }

    @Test func scheduledTaskRunsOnItsIntervalAndGraphFollows() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let warehouse = try await warehouse()
        let tasks = [
            Self.sql("every_second", .schedule(.interval(.seconds(1)))),
            Self.sql("child", .after(["every_second"])),
            Self.sql("grandchild", .after(["every_second", "child"])),
        ]
        let scheduler = try TaskScheduler(tasks: tasks, warehouse: warehouse, pipe: nil)
        #expect(
            try await Self.run(scheduler) {
                try await Self.count(warehouse, "SELECT count(*) FROM audit WHERE task = 'grandchild'") >= 2
            }
        )
        let parents = try await Self.count(warehouse, "SELECT count(*) FROM audit WHERE task = 'every_second'")
        let children = try await Self.count(warehouse, "SELECT count(*) FROM audit WHERE task = 'child'")
        #expect(parents >= 2 && children >= 2 && children <= parents)
        // Each child run starts after a parent run ended.
        let history = try await warehouse.taskHistoryTable(limit: 100).rows
        #expect(history.allSatisfy { $0[6] == .text("succeeded") })
        #expect(history.contains { $0[1] == .text("child") && $0[2] == .text("after every_second") })
        #expect(
            history.contains { $0[1] == .text("every_second") && $0[2] == .text("schedule") && $0[7] == .integer(1) }
        )
    }

    @Test func failingTaskIsRetriedThenSuspendedAndStaysSuspended() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let warehouse = try await warehouse()
        var failing = Self.sql("broken", .schedule(.interval(.seconds(1))), "INSERT INTO no_such_table VALUES (1)")
        failing.retries = 1
        failing.suspendAfterFailures = 2
        let scheduler = try TaskScheduler(tasks: [failing], warehouse: warehouse, pipe: nil)
        #expect(try await Self.run(scheduler) { try await warehouse.tasks().first?.state == "suspended" })
        let runs = try await warehouse.taskHistoryTable(task: "broken").rows
        #expect(runs.count == 4, "two runs of two attempts")
        #expect(runs.allSatisfy { $0[6] == .text("failed") })
        #expect(runs.allSatisfy { if case .text(let error) = $0[8] { error.contains("no_such_table") } else { false } })
        #expect(Set(runs.map { $0[3] }) == [.integer(1), .integer(2)])

        // A new scheduler (a restart) keeps it suspended; resuming resets its failures.
        let again = try TaskScheduler(tasks: [failing], warehouse: warehouse, pipe: nil)
        _ = try await Self.run(again, for: 1.5) { false }
        #expect(try await warehouse.taskHistoryTable(task: "broken").rows.count == 4, "a suspended task does not run")
        try await warehouse.setTaskState("broken", suspended: false)
        await #expect(try warehouse.tasks().first?.consecutiveFailures == 0)
        await #expect(throws: WarehouseError.self) { try await warehouse.setTaskState("nope", suspended: true) }
    }

    @Test func onDataTaskRunsOncePerNewLoad() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let warehouse = try await warehouse()
        let task = TaskDefinition(
            name: "on_load",
            trigger: .onData,
            condition: .newLoads,
            action: .sql("INSERT INTO audit SELECT 'on_load', max(load_id) FROM firn_loads")
        )
        let scheduler = try TaskScheduler(tasks: [task], warehouse: warehouse, pipe: nil)
        func load(_ name: String) async throws {
            let ticket: LoadTicket
            guard
                case .load(let started) = try await warehouse.beginLoad(FileContent(name: name, checksum: name, sizeBytes: 1))
            else { throw WarehouseError.invalidRequest("already loaded") }
            ticket = started
            _ = try await warehouse.finishLoad(ticket)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await scheduler.run() }
            try await Task.sleep(for: .milliseconds(600))
            await #expect(try Self.count(warehouse, "SELECT count(*) FROM audit") == 0, "no load yet, no run")
            try await load("a.csv")
            scheduler.noteLoadCommitted()
            try await Task.sleep(for: .milliseconds(800))
            await #expect(try Self.count(warehouse, "SELECT count(*) FROM audit") == 1)
            try await load("b.csv")
            try await Task.sleep(for: .milliseconds(800))
            group.cancelAll()
        }
        await #expect(try warehouse.query("SELECT at FROM audit ORDER BY at").result.rows == [[.text("1")], [.text("2")]])
    }

    /// With several entities on one warehouse, `when: stream_has_data` reads the stream of the
    /// task's entity, its SQL runs in that entity's warehouse, and DML it makes consumes every
    /// entity's stream (as `firn query` does).
    @Test func aTaskReadsTheStreamOfItsEntity() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let customers = try await warehouse()
        let orders = try SQLiteWarehouse(
            path: root + "/firn.sqlite",
            entity: try EntityConfiguration(
                name: "orders",
                keyColumns: [Column("order_id", .integer)],
                attributeColumns: [Column("amount", .decimal)]
            )
        )
        var task = Self.sql("on_orders", .onData)
        task.condition = .streamHasData
        task.entity = "orders"
        // Runs every second and changes nothing: its runs show the scheduler ticking.
        let canary = Self.sql("canary", .schedule(.interval(.seconds(1))), "UPDATE audit SET task = task WHERE 0")
        let scheduler = try TaskScheduler(tasks: [task, canary], warehouses: [customers, orders], pipe: nil)
        func insertCustomer(_ id: Int) async throws {
            _ = try await customers.query(
                "INSERT INTO customer (customer_id, first_name, update_timestamp) VALUES (\(id), 'A', '2026-01-01 00:00:00')"
            )
        }
        func canaryRuns() async throws -> Int { try await customers.taskRuns(task: "canary", PageRequest(limit: 100)).items.count }

        // Manual DML on both entities: the orders' stream starts the task, which consumes both.
        try await insertCustomer(1)
        _ = try await orders.query("INSERT INTO orders (order_id, amount, update_timestamp) VALUES (7, 1.5, '2026-01-01 00:00:00')")
        let ordersPending = try await orders.streamHasData()
        #expect(ordersPending)
        #expect(try await Self.run(scheduler) { try await !orders.streamHasData() })
        #expect(try await Self.count(customers, "SELECT count(*) FROM audit WHERE task = 'on_orders'") == 1)
        let customersPending = try await customers.streamHasData()
        #expect(!customersPending, "the task's DML consumed the customer stream too")

        // Manual DML on the customer alone does not start it: three ticks later it has not run.
        try await insertCustomer(2)
        let before = try await canaryRuns()
        let again = try TaskScheduler(tasks: [task, canary], warehouses: [customers, orders], pipe: nil)
        #expect(try await Self.run(again) { try await canaryRuns() >= before + 3 })
        #expect(try await Self.count(customers, "SELECT count(*) FROM audit WHERE task = 'on_orders'") == 1)
        let stillPending = try await customers.streamHasData()
        #expect(stillPending)

        var unknown = task
        unknown.entity = "invoices"
        #expect(throws: TaskError.self) { try TaskScheduler(tasks: [unknown], warehouses: [customers, orders], pipe: nil) }
    }

    @Test func definitionsAreValidated() throws {
        #expect(throws: TaskError.self) {
            try TaskDefinition.validate([Self.sql("a", .after(["b"])), Self.sql("b", .after(["a"]))])
        }
        #expect(throws: TaskError.self) { try TaskDefinition.validate([Self.sql("a", .after(["missing"]))]) }
        #expect(throws: TaskError.self) { try TaskDefinition.validate([Self.sql("a", .onData)]) }
        #expect(throws: TaskError.self) { try TaskDefinition.validate([Self.sql("load", .onData)]) }
        #expect(throws: TaskError.self) {
            try TaskDefinition.validate([Self.sql("x y", .schedule(.interval(.seconds(1))))])
        }
        try TaskDefinition.validate([.load, .retention, Self.sql("a", .schedule(.interval(.seconds(60))))])
    }

    @Test func retentionCountsAnArchivedFilesAgeFromTheDayItWasArchived() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let warehouse = try await warehouse()
        let archive = root + "/archive"
        func folder(daysAgo days: Int64) -> String {
            let then = Timestamp(microseconds: Timestamp.now().microseconds - days * 86_400_000_000)
            return archive + "/" + String(then.description.prefix(10)).replacingOccurrences(of: "-", with: "/")
        }
        func put(_ path: String, modifiedDaysAgo days: Double) throws {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            #expect(FileManager.default.createFile(atPath: path, contents: Data("customer_id\n1\n".utf8)))
            let modified = Date().addingTimeInterval(-days * 86_400)
            try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
        }
        // Archived today (ingest's date folder), written 30 days ago: kept.
        try put(folder(daysAgo: 0) + "/old-export.csv", modifiedDaysAgo: 30)
        try put(folder(daysAgo: 3) + "/recent.csv", modifiedDaysAgo: 3)
        // Archived 10 days ago: removed, and its emptied folder with it.
        try put(folder(daysAgo: 10) + "/stale.csv", modifiedDaysAgo: 10)
        // Archived from a landing sub-folder (an entity routed by folder `eu/customers/`) 40 days ago.
        try put(folder(daysAgo: 40) + "/eu/customers/stale.csv", modifiedDaysAgo: 40)
        // Outside the date folders only the modification time can tell.
        try put(archive + "/loose/old.csv", modifiedDaysAgo: 30)
        try put(archive + "/loose/new.csv", modifiedDaysAgo: 1)
        var configuration = SchedulerConfiguration()
        configuration.archiveDirectory = archive
        let scheduler = try TaskScheduler(
            tasks: [.retention],
            warehouse: warehouse,
            pipe: nil,
            configuration: configuration
        )
        #expect(try await scheduler.runNow("retention"))
        let manager = FileManager.default
        #expect(manager.fileExists(atPath: folder(daysAgo: 0) + "/old-export.csv"))
        #expect(manager.fileExists(atPath: folder(daysAgo: 3) + "/recent.csv"))
        #expect(!manager.fileExists(atPath: folder(daysAgo: 10) + "/stale.csv"))
        #expect(!manager.fileExists(atPath: folder(daysAgo: 10)), "the emptied date folder too")
        // Its folders, emptied, up to the month's (every file of that month is stale by now).
        let month = (folder(daysAgo: 40) as NSString).deletingLastPathComponent
        #expect(!manager.fileExists(atPath: folder(daysAgo: 40)) && !manager.fileExists(atPath: month))
        #expect(!manager.fileExists(atPath: archive + "/loose/old.csv"))
        #expect(manager.fileExists(atPath: archive + "/loose/new.csv"))
    }
}
