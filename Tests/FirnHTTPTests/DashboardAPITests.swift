import FirnCore
import FirnHTTP
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import Testing

/// The JSON API on a real socket over a real SQLite warehouse: answers match the warehouse's
/// own reads, bad parameters are 400s with a message, unknown paths 404s, never a crash.
@Suite struct DashboardAPITests {
    @Test func readsAnswerWhatTheWarehouseHolds() async throws {
        let directory = try DashboardHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let warehouse = try await DashboardHarness.loadedWarehouse(in: directory)
        try await DashboardHarness.withServer(sources: DashboardSources(warehouse: warehouse)) { server in
            let health = try await server.get("/healthz")
            #expect(health.status == 200)
            #expect(try health.object()["status"] as? String == "ok")
            let ready = try await server.get("/readyz")
            #expect(ready.status == 200)
            #expect(try ready.object()["status"] as? String == "ready")

            let loads = try await server.get("/api/loads")
            #expect(loads.status == 200)
            let items = try #require(try loads.object()["items"] as? [[String: Any]])
            #expect(items.count == 1)
            #expect(items.first?["status"] as? String == "loaded")
            #expect(items.first?["rowsLoaded"] as? Int == 5)
            #expect(items.first?["rowsRejected"] as? Int == 1)
            let id = try #require(items.first?["id"] as? Int)

            let rejects = try await server.get("/api/loads/\(id)/rejects")
            #expect(rejects.status == 200)
            let rejected = try #require(try rejects.object()["items"] as? [[String: Any]])
            #expect(rejected.count == 1)
            #expect(rejected.first?["sourceRow"] as? Int == 4)
            #expect((rejected.first?["reason"] as? String)?.contains("not-a-time") == true)

            let history = try await server.get("/api/history?key=1")
            #expect(history.status == 200)
            let versions = try #require(try history.object()["versions"] as? [[String: Any]])
            let expected = try await warehouse.history(of: Key(1))
            #expect(versions.count == expected.count)
            #expect(versions.count == 3)
            #expect(versions.map { $0["start"] as? String } == expected.map { $0.start.description })
            #expect(versions.map { ($0["values"] as? [String: Any])?["city"] as? String } == ["Oslo", "Bergen", "Bergen"])
            #expect(versions.last?["isCurrent"] as? Bool == true)
            #expect(versions.last?["end"] == nil)
            #expect((try history.object()["late"] as? [Any])?.isEmpty == true)

            // Key 2's Milan record (row 6) arrived after its Rome one (row 2), which is later.
            let late = try await server.get("/api/history?key=2").object()
            let lateVersions = try #require(late["versions"] as? [[String: Any]])
            #expect(lateVersions.map { ($0["values"] as? [String: Any])?["city"] as? String } == ["Milan", "Rome"])
            let lateRecords = try #require(late["late"] as? [[String: Any]])
            #expect(lateRecords.count == 1)
            #expect(lateRecords.first?["sourceRow"] as? Int == 6)
            #expect(lateRecords.first?["loadId"] as? Int == id)
            #expect(lateRecords.first?["operation"] as? String == "upsert")
            #expect(lateRecords.first?["eventTime"] as? String == lateVersions.first?["start"] as? String)
            #expect(lateRecords.first?["latestBefore"] as? String == lateVersions.last?["start"] as? String)

            let asOf = try await server.get("/api/as-of?time=2026-01-01T10:30:00Z")
            let live = try #require(try asOf.object()["items"] as? [[String: Any]])
            #expect(live.map { $0["key"] as? String } == ["1", "2"])
            #expect(live.map { ($0["values"] as? [String: Any])?["city"] as? String } == ["Oslo", "Rome"])

            let status = try await server.get("/api/status")
            let body = try status.object()
            #expect(body["mode"] as? String == "serve")
            #expect(body["liveRows"] as? Int == 2)
            #expect(body["latestLoadId"] as? Int == id)
            #expect(body["pipe"] == nil)

            let provenance = try await server.get("/api/provenance?file=changes-1.csv")
            #expect(provenance.status == 200)
            #expect((try provenance.object()["loads"] as? [Any])?.count == 1)

            let bulletins = try await server.get("/api/bulletins")
            let feed = try #require(try bulletins.json() as? [[String: Any]])
            #expect(feed.contains { $0["source"] as? String == "rejects" && $0["loadId"] as? Int == id })
        }
    }

    @Test func listingsPageWithCursors() async throws {
        let directory = try DashboardHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let warehouse = try await DashboardHarness.loadedWarehouse(in: directory)
        try await DashboardHarness.withServer(sources: DashboardSources(warehouse: warehouse)) { server in
            var keys: [String] = []
            var path = "/api/as-of?time=2026-01-02T00:00:00Z&limit=1"
            for _ in 0..<5 {
                let page = try await server.get(path).object()
                keys += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
                guard let next = page["next"] as? String else { break }
                path = "/api/as-of?time=2026-01-02T00:00:00Z&limit=1&after=\(next)"
            }
            #expect(keys == ["1", "2"])
        }
    }

    @Test(arguments: [
        "/api/loads?limit=0", "/api/loads?limit=501", "/api/loads?limit=ten", "/api/loads?after=%%%",
        "/api/loads?after=bm90IGEgY3Vyc29y", "/api/loads/abc", "/api/loads/-1/rejects", "/api/history",
        "/api/history?key=", "/api/history?key=1%7C2", "/api/history?key=abc", "/api/as-of",
        "/api/as-of?time=yesterday", "/api/provenance", "/api/bulletins?limit=0",
    ])
    func badParametersAreClearFourHundreds(path: String) async throws {
        let directory = try DashboardHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let warehouse = try SQLiteWarehouse(path: directory.appendingPathComponent("firn.sqlite").path)
        try await DashboardHarness.withServer(sources: DashboardSources(warehouse: warehouse)) { server in
            let answer = try await server.get(path)
            #expect(answer.status == 400, "\(path): \(answer.status) \(answer.text)")
            let message = try answer.object()["error"] as? String
            #expect(message?.isEmpty == false, "\(path): \(answer.text)")
        }
    }

    @Test func unknownThingsAreJSONNotFound() async throws {
        let directory = try DashboardHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let warehouse = try SQLiteWarehouse(path: directory.appendingPathComponent("firn.sqlite").path)
        try await DashboardHarness.withServer(sources: DashboardSources(warehouse: warehouse)) { server in
            for path in ["/nope", "/api/loads/99", "/api/loads/99/rejects", "/api/tasks/none/runs", "/api/provenance?file=x"] {
                let answer = try await server.get(path)
                #expect(answer.status == 404, "\(path): \(answer.status)")
                #expect((try answer.object()["error"] as? String)?.isEmpty == false)
            }
        }
    }

    @Test func theOpenAPIDocumentListsEveryRoute() async throws {
        let directory = try DashboardHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let warehouse = try SQLiteWarehouse(path: directory.appendingPathComponent("firn.sqlite").path)
        try await DashboardHarness.withServer(sources: DashboardSources(warehouse: warehouse)) { server in
            let document = try await server.get("/openapi.json").object()
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            // Every documented GET answers with something other than 404 or a server error.
            for (path, operations) in paths where operations["get"] != nil && path != "/api/events" {
                let concrete = path.replacingOccurrences(of: "{id}", with: "1").replacingOccurrences(
                    of: "{name}",
                    with: "load"
                )
                let answer = try await server.get(concrete)
                #expect(answer.status < 500, "\(concrete): \(answer.status) \(answer.text)")
            }
            #expect(paths.keys.contains("/api/tasks/{name}/suspend"))
        }
    }
}
