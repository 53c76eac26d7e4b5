import FirnCore
import FirnPostgresWarehouse
import FirnTestSupport
import FirnWarehouse
import Testing

/// Claims on objects between workers sharing a schema (`PipeLedger.withClaim`), on the test
/// run's server: one holder at a time, released when its work ends, and independent per object.
@Suite struct ClaimTests {
    @Test func aClaimHasOneHolderAtATimeAndEndsWithItsWork() async throws {
        let location = try await PostgresTestServer.freshSchema()
        let first = try await PostgresWarehouse.open(location, maximumConnections: 2)
        let second = try await PostgresWarehouse.open(location, maximumConnections: 2)
        // While the first worker holds "a", the second cannot take it, but can take "b".
        let seen = try await first.withClaim(on: "a") { () throws(WarehouseError) -> [Int?] in
            let other = try await second.withClaim(on: "a") { () throws(WarehouseError) -> Int in 1 }
            let free = try await second.withClaim(on: "b") { () throws(WarehouseError) -> Int in 2 }
            return [other, free]
        }
        #expect(seen == [nil, 2])
        // Once its work ended (and when it threw), the claim is free again.
        #expect(try await second.withClaim(on: "a") { () throws(WarehouseError) -> Int in 3 } == 3)
        await #expect(throws: WarehouseError.self) {
            try await first.withClaim(on: "a") { () throws(WarehouseError) -> Int in
                throw WarehouseError.unknownLoad(7)
            }
        }
        #expect(try await second.withClaim(on: "a") { () throws(WarehouseError) -> Int in 4 } == 4)
        await first.close()
        await second.close()
    }
}
