import FirnCore
@testable import FirnPostgresWarehouse
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// Several entities in one process share one connection pool: another entity opened beside a
/// warehouse (``PostgresWarehouse/opening(_:keyStateCapacity:)``) uses its pool, which ends
/// when the last of them closes.
@Suite struct SharedPoolTests {
    @Test func entitiesOpenedBesideOneShareItsPoolUntilTheLastCloses() async throws {
        let location = try await PostgresTestServer.freshSchema()
        let customers = try await PostgresWarehouse.open(location, entity: .customer, maximumConnections: 2)
        let orders = try await customers.opening(
            try EntityConfiguration(
                name: "orders",
                keyColumns: [Column("order_id", .integer)],
                attributeColumns: [Column("amount", .decimal)]
            )
        )
        #expect(orders.pool === customers.pool && orders.client === customers.client)
        _ = try await orders.query("INSERT INTO orders (order_id, amount, update_timestamp) VALUES (1, '2', '2026-01-01 00:00:00')")
        await customers.close()
        #expect(!orders.pool.runner.isCancelled, "the other entity still uses the pool")
        let rows = try await orders.query("SELECT count(*) FROM orders").result.rows
        #expect(rows == [[.integer(1)]])
        await customers.close()  // Closing twice lets go once.
        #expect(!orders.pool.runner.isCancelled)
        await orders.close()
        #expect(orders.pool.runner.isCancelled)
    }
}
