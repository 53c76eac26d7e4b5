import FirnPostgresWarehouse
import Testing

/// `postgres://` URLs and the `PG*` environment variables, and that no message shows a password.
@Suite struct PostgresLocationTests {
    @Test func aFullURLIsReadAndItsDescriptionHasNoPassword() throws {
        let location = try PostgresLocation(
            parsing: "postgres://ann:s%40cret@db.example:6543/analytics?sslmode=require&schema=team_a",
            environment: ["PGPASSWORD": "other"]
        )
        #expect(location.host == "db.example")
        #expect(location.port == 6543)
        #expect(location.user == "ann")
        #expect(location.password == "s@cret")
        #expect(location.database == "analytics")
        #expect(location.sslMode == .require)
        #expect(location.schema == "team_a")
        #expect(location.description == "postgres://ann@db.example:6543/analytics?schema=team_a")
        #expect(!location.description.contains("cret"))
    }

    @Test func whatTheURLLeavesOutComesFromTheEnvironment() throws {
        let location = try PostgresLocation(
            parsing: "postgres://",
            environment: [
                "PGHOST": "pg.internal", "PGPORT": "5433", "PGUSER": "bob", "PGPASSWORD": "pw", "PGDATABASE": "dw",
                "PGSSLMODE": "verify-full", "FIRN_PGSCHEMA": "firn_prod",
            ]
        )
        #expect(location.host == "pg.internal")
        #expect(location.port == 5433)
        #expect(location.user == "bob")
        #expect(location.password == "pw")
        #expect(location.database == "dw")
        #expect(location.sslMode == .verifyFull)
        #expect(location.schema == "firn_prod")
        let defaults = try PostgresLocation(parsing: "postgresql://carol@localhost", environment: [:])
        #expect(defaults.port == 5432)
        #expect(defaults.database == "carol")
        #expect(defaults.sslMode == .prefer)
        #expect(defaults.schema == "firn")
    }

    @Test(arguments: [
        ("mysql://a@b/c", "not a postgres:// URL"),
        ("postgres://a:secret@b/c?sslmode=allow", "sslmode allow is not supported"),
        ("postgres://a:secret@b/c?schema=drop;table", "schema drop;table must be"),
        ("postgres://a:secret@b/c?search_path=x", "unknown option search_path"),
    ])
    func badLocationsAreRefusedInOneLineWithoutThePassword(text: String, message: String) {
        do {
            _ = try PostgresLocation(parsing: text, environment: [:])
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.description.contains(message), "\(error)")
            #expect(!error.description.contains("secret"), "\(error)")
            #expect(!error.description.contains("\n"))
        }
    }
}
