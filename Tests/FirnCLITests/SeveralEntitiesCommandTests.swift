import Foundation
import Testing

/// A config with several entities (`entities:`): `firn load` routes each file to its entity,
/// refuses a file no route matches, and `firn query` consumes every entity's stream; the
/// commands about one entity take `--entity`, which `firn run` refuses (it carries them all).
@MainActor @Suite struct SeveralEntitiesCommandTests {
    @Test func loadRoutesFilesAndCommandsTakeTheEntity() throws {
        try Self.routeAndCheck(postgres: false)
    }

    /// The same with the warehouse on PostgreSQL: both entities' tables in one schema.
    @Test func loadRoutesFilesOnPostgreSQL() throws {
        try Self.routeAndCheck(postgres: true)
    }

    static func routeAndCheck(postgres: Bool) throws {
        let dir = try FirnProcess.temporaryDirectory(postgres ? "entities-pg" : "entities")
        var stopServer = {}
        defer {
            stopServer()
            FirnProcess.remove(dir)
        }
        var warehouse: [String] = []
        if postgres {
            let (url, stop) = try ScaleOutTests.serverURL(dir)
            stopServer = stop
            warehouse = ["--warehouse", ScaleOutTests.warehouse(url, schema: "entities_\(UUID().uuidString.prefix(8).lowercased())")]
        }
        let config = dir.appendingPathComponent("firn.yaml")
        try """
        entities:
          - route: customers/
          - name: orders
            keys: [{ name: order_id, type: integer }]
            attributes: [{ name: amount, type: decimal }]
            route: "orders-*.csv"

        """.write(to: config, atomically: true, encoding: .utf8)
        let customers = dir.appendingPathComponent("customers")
        try FileManager.default.createDirectory(at: customers, withIntermediateDirectories: true)
        let customer = customers.appendingPathComponent("c1.csv")
        try """
        customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op
        1,Ada,Lovelace,ada@x,1 Main St,Oslo,,NO,2026-01-01 10:00:00,I

        """.write(to: customer, atomically: true, encoding: .utf8)
        let order = dir.appendingPathComponent("orders-1.csv")
        try "order_id,amount,update_timestamp\n10,9.50,2026-01-01 10:00:00\n".write(to: order, atomically: true, encoding: .utf8)
        let stray = dir.appendingPathComponent("stray.csv")
        try "x\n1\n".write(to: stray, atomically: true, encoding: .utf8)
        let base = ["--config", config.path, "--data-dir", dir.appendingPathComponent("data").path] + warehouse

        let load = try FirnProcess.run(["load"] + base + [customer.path, order.path, stray.path])
        #expect(load.status != 0)
        #expect(load.stdout.contains("[customer] \(customer.path): loaded 1 rows"), "\(load.stdout)")
        #expect(load.stdout.contains("[orders] \(order.path): loaded 1 rows"), "\(load.stdout)")
        #expect(load.stdout.contains("stray.csv: FAILED: no entity's route matches it (routes: customers/ (customer), orders-*.csv (orders))"))

        let history = try FirnProcess.run(["history"] + base + ["10"])
        #expect(history.status != 0)
        #expect(history.stderr.contains("the config lists entities customer, orders: name one with --entity"), "\(history.stderr)")
        let orders = try FirnProcess.run(["history"] + base + ["--entity", "orders", "--format", "csv", "10"])
        #expect(orders.stdout.hasPrefix("order_id,amount,start_time"), "\(orders.stdout)")

        let update = try FirnProcess.run(["query"] + base + ["UPDATE orders SET amount = '12' WHERE order_id = 10"])
        #expect(update.stdout.contains("stream orders_stream: applied 1 change(s) to history"), "\(update.stdout)")
        let versions = try FirnProcess.run(["query"] + base + ["--format", "csv", "SELECT amount FROM orders_history ORDER BY start_time"])
        #expect(versions.stdout == "amount\r\n9.5\r\n12\r\n", "\(versions.stdout)")

        let run = try FirnProcess.run(["run"] + base + ["--entity", "orders"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--entity orders: firn run, ingest and pipe carry every entity of the config"), "\(run.stderr)")
    }
}
