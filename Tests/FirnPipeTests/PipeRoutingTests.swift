import FirnCore
import FirnObjectStore
import FirnPipe
import FirnSQLiteWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import NIOCore
import Testing

/// Several entities in one pipe, on both backends: each object loads into its entity's
/// warehouse (both on one database, sharing the ledger), and an object no route matches is
/// recorded as failed, once, with no load history row.
@Suite struct PipeRoutingTests {
    static let orders = try! EntityConfiguration(
        name: "orders",
        keyColumns: [Column("order_id", .integer)],
        attributeColumns: [Column("amount", .decimal)]
    )

    @Test(arguments: TestBackend.allCases) func eachObjectLoadsIntoItsEntityAndAnUnroutedOneFails(backend: TestBackend)
        async throws
    {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("firn-routing-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/source", withIntermediateDirectories: true)
        let place = try await ReopenableWarehouse.make(backend)
        defer {
            place.cleanUp()
            try? FileManager.default.removeItem(atPath: root)
        }
        let customers = try await place.open(.customer)
        let orders = try await place.open(Self.orders)
        let bucket = try DirectoryBucket(root: root + "/bucket")
        var names: [String] = []
        for index in 0..<3 {
            let url = URL(fileURLWithPath: root + "/source/changes-\(index).csv")
            try FileLoaderTests.writeFile(url, rows: 120, keys: 30 + index)
            names.append(url.lastPathComponent)
            _ = try await bucket.put(
                ByteBuffer(string: try String(contentsOf: url, encoding: .utf8)),
                key: try ObjectKey("2026/11/25/customers/" + url.lastPathComponent)
            )
        }
        _ = try await bucket.put(
            ByteBuffer(string: "order_id,amount,update_timestamp\n10,9.50,2026-01-01 10:00:00\n11,3,2026-01-01 10:00:00\n"),
            key: try ObjectKey("2026/11/25/orders/o-1.csv")
        )
        _ = try await bucket.put(ByteBuffer(string: "x\n1\n"), key: try ObjectKey("2026/11/25/misc/stray.csv"))

        var configuration = PipeConfiguration(downloadDirectory: root + "/downloads")
        configuration.pollInterval = .milliseconds(100)
        let pipe = AutoIngestPipe(
            store: bucket,
            warehouses: [customers.warehouse, orders.warehouse],
            route: { key in key.contains("/customers/") ? 0 : key.contains("/orders/") ? 1 : nil },
            configuration: configuration
        )
        #expect(
            try await runServices([pipe.run], for: 120) {
                pipe.statistics.objectsLoaded == 4 && pipe.statistics.objectsFailed == 1
            }
        )
        _ = await pipe.loadNow()
        #expect(pipe.statistics.objectsLoaded == 4 && pipe.statistics.objectsFailed == 1, "nothing taken twice")

        // The customer tables are those `firn load` of the same files gives; the orders' their own.
        let loadedCustomers = try await AutoIngestPipeTests.scdTables(customers.warehouse)
        let referenceFile = try await ReopenableWarehouse.make(backend)
        defer { referenceFile.cleanUp() }
        let clean = try await referenceFile.open(.customer)
        for name in names { _ = try await FileLoader(warehouse: clean.warehouse).load(root + "/source/" + name) }
        #expect(loadedCustomers == (try await AutoIngestPipeTests.scdTables(clean.warehouse)))
        await clean.close()
        let amounts = try await orders.warehouse.query("SELECT order_id, amount FROM orders ORDER BY order_id").result
        #expect(amounts.rows.map { $0[0] } == [.integer(10), .integer(11)])

        let objects = try await customers.warehouse.pipeObjects(PageRequest(limit: 10)).items
        let stray = try #require(objects.first { $0.key == "2026/11/25/misc/stray.csv" })
        #expect(stray.status == "failed" && stray.loadID == nil)
        #expect(objects.count == 5)
        let loads = try await customers.warehouse.loadHistory(PageRequest(limit: 10)).items
        #expect(loads.count == 4 && !loads.contains { $0.fileName.hasSuffix("stray.csv") })
        await customers.close()
        await orders.close()
    }
}
