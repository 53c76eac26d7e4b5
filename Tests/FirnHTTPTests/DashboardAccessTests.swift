import AsyncHTTPClient
import FirnCore
import FirnHTTP
import FirnSQLiteWarehouse
import FirnTasks
import FirnWarehouse
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// Who may use the dashboard, what changes need, and how the server starts and stops.
@Suite struct DashboardAccessTests {
    static func emptyWarehouse(_ directory: URL) throws -> SQLiteWarehouse {
        try SQLiteWarehouse(path: directory.appendingPathComponent("firn.sqlite").path)
    }

    @Test func aTokenIsCheckedOnEveryRequest() async throws {
        let directory = try DashboardHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = DashboardConfiguration.testing
        configuration.token = "correct-horse-battery-staple"
        try await DashboardHarness.withServer(configuration, sources: DashboardSources(warehouse: try Self.emptyWarehouse(directory))) {
            server in
            for path in ["/", "/api/status", "/metrics", "/openapi.json"] {
                #expect(try await server.get(path).status == 401, "\(path)")
            }
            #expect(try await server.get("/api/status", headers: [("Authorization", "Bearer wrong")]).status == 401)
            let bearer = try await server.get(
                "/api/status",
                headers: [("Authorization", "Bearer correct-horse-battery-staple")]
            )
            #expect(bearer.status == 200)
            #expect(!bearer.text.contains("correct-horse"))
            // The page's way: /?token=… sets an HttpOnly, SameSite=Strict cookie and sends the token away.
            #expect(try await server.get("/?token=wrong").status == 401)
            let login = try await server.get("/?token=correct-horse-battery-staple")
            #expect(login.status == 303)
            #expect(login.headers.first(name: "location") == "/")
            let cookie = try #require(login.headers.first(name: "set-cookie"))
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            let pair = String(cookie.split(separator: ";")[0])
            #expect(try await server.get("/api/loads", headers: [("Cookie", pair)]).status == 200)
        }
    }

    @Test func aNonLoopbackAddressNeedsAToken() throws {
        var configuration = DashboardConfiguration()
        try configuration.setAddress("0.0.0.0:8080")
        #expect(throws: DashboardError.tokenRequired("0.0.0.0:8080")) { try configuration.validate() }
        configuration.token = "short"
        #expect(throws: DashboardError.weakToken) { try configuration.validate() }
        configuration.token = "a-long-enough-token"
        try configuration.validate()
        try configuration.setAddress("[::1]:9000")
        #expect(configuration.isLoopback)
        #expect(configuration.address == "[::1]:9000")
        #expect(throws: DashboardError.invalidAddress("localhost")) { try configuration.setAddress("localhost") }
        #expect(throws: DashboardError.invalidAddress("1.2.3.4:99999")) { try configuration.setAddress("1.2.3.4:99999") }
    }

    @Test func changesComeOnlyFromThePageItself() async throws {
        let directory = try DashboardHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let warehouse = try Self.emptyWarehouse(directory)
        try await warehouse.defineTasks([
            TaskRecord(name: "tidy", kind: "sql", trigger: "every 1h", body: "SELECT 1")
        ])
        try await DashboardHarness.withServer(sources: DashboardSources(warehouse: warehouse)) { server in
            let bare = try await server.request("/api/tasks/tidy/suspend", method: .POST)
            #expect(bare.status == 403)
            let crossSite = try await server.request(
                "/api/tasks/tidy/suspend",
                method: .POST,
                headers: [("X-Firn-Request", "1"), ("Origin", "http://evil.example")]
            )
            #expect(crossSite.status == 403)
            let fetchedCrossSite = try await server.request(
                "/api/tasks/tidy/suspend",
                method: .POST,
                headers: [("X-Firn-Request", "1"), ("Sec-Fetch-Site", "cross-site")]
            )
            #expect(fetchedCrossSite.status == 403)
            #expect(try await warehouse.tasks().first?.state == "started")

            let suspend = try await server.request(
                "/api/tasks/tidy/suspend",
                method: .POST,
                headers: [("X-Firn-Request", "1"), ("Origin", "http://127.0.0.1:\(server.port)")]
            )
            #expect(suspend.status == 200, "\(suspend.text)")
            #expect(try suspend.object()["state"] as? String == "suspended")
            #expect(try await warehouse.tasks().first?.state == "suspended")
            let resume = try await server.request("/api/tasks/tidy/resume", method: .POST, headers: [("X-Firn-Request", "1")])
            #expect(try resume.object()["state"] as? String == "started")
            // No scheduler in this process: a run is refused with a reason, not silently dropped.
            let run = try await server.request("/api/tasks/tidy/run", method: .POST, headers: [("X-Firn-Request", "1")])
            #expect(run.status == 409)
            let unknown = try await server.request("/api/tasks/none/suspend", method: .POST, headers: [("X-Firn-Request", "1")])
            #expect(unknown.status == 404)
            // GET on an action is not a way around the checks, nor another value of the header.
            let get = try await server.get("/api/tasks/tidy/suspend")
            #expect(get.status == 405)
            #expect(get.headers.first(name: "allow") == "POST")
            let otherValue = try await server.request("/api/tasks/tidy/suspend", method: .POST, headers: [("X-Firn-Request", "yes")])
            #expect(otherValue.status == 403)
            // Methods the document does not list are 405s naming the ones it does.
            let trace = try await server.request("/readyz", method: .TRACE)
            #expect(trace.status == 405)
            #expect(trace.headers.first(name: "allow") == "GET")
            #expect(try await server.request("/api/loads", method: .DELETE).status == 405)
        }
    }

    @Test func aTakenAddressFailsServeButNotTheFlow() async throws {
        let directory = try DashboardHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sources = DashboardSources(warehouse: try Self.emptyWarehouse(directory))
        try await DashboardHarness.withServer(sources: sources) { first in
            var configuration = DashboardConfiguration.testing
            configuration.port = first.port
            let required = DashboardServer(configuration: configuration, sources: sources, requirement: .required)
            await #expect(throws: DashboardError.self) { try await required.run() }

            let reported = UnavailableBox()
            let optional = DashboardServer(
                configuration: configuration,
                sources: sources,
                requirement: .optional,
                onUnavailable: { error in reported.set(error.description) }
            )
            let group = ServiceGroup(services: [optional], logger: Logger(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let deadline = Date().addingTimeInterval(20)
                while reported.value == nil && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
                // Still running (waiting for shutdown), not ended.
                try await Task.sleep(for: .milliseconds(200))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            let message = try #require(reported.value)
            #expect(message.contains("cannot listen on 127.0.0.1:\(first.port)"))
            #expect(message.lowercased().contains("in use"))
        }
    }

    @Test func anOpenEventStreamDoesNotHoldShutdown() async throws {
        let directory = try DashboardHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let started = ContinuousClock.now
        try await DashboardHarness.withServer(sources: DashboardSources(warehouse: try Self.emptyWarehouse(directory))) {
            server in
            // Read the first event, and leave the stream open while the server shuts down.
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/api/events")
            request.method = .GET
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            var iterator = response.body.makeAsyncIterator()
            let first = try #require(try await iterator.next())
            #expect(String(buffer: first).hasPrefix("event: status\ndata: {"))
        }
        #expect(ContinuousClock.now - started < .seconds(15))
    }
}

final class UnavailableBox: @unchecked Sendable {
    private let lock = NSLock()
    private var message: String?
    var value: String? { lock.withLock { message } }
    func set(_ text: String) { lock.withLock { message = text } }
}
