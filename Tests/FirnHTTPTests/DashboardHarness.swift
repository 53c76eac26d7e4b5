import AsyncHTTPClient
import FirnCore
import FirnHTTP
import FirnPipe
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// A dashboard server on a free loopback port over a real SQLite warehouse, read with a real
/// HTTP client.
struct DashboardHarness {
    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }

        func json() throws -> Any { try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
        func object() throws -> [String: Any] {
            guard let object = try json() as? [String: Any] else { throw HarnessError("not a JSON object: \(text)") }
            return object
        }
    }

    struct HarnessError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    let port: Int

    /// A client that shows redirects instead of following them (the token login answers one).
    static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow)
    )

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("firn-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A warehouse with one file loaded: three keys, key 1 changed twice, one rejected row.
    static func loadedWarehouse(in directory: URL) async throws -> SQLiteWarehouse {
        let file = directory.appendingPathComponent("changes-1.csv")
        try """
        customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op
        1,Ann,Lee,a@x,1 St,Oslo,,NO,2026-01-01 10:00:00+00:00,U
        2,Bo,Kim,b@x,2 St,Rome,,IT,2026-01-01 10:00:01+00:00,U
        1,Ann,Lee,a@x,1 St,Bergen,,NO,2026-01-01 11:00:00+00:00,U
        3,Cy,Ng,c@x,3 St,Lima,,PE,not-a-time,U
        1,Ann,Lee,a@y,1 St,Bergen,,NO,2026-01-01 12:00:00+00:00,U
        2,Bo,Kim,b@x,2 St,Milan,,IT,2026-01-01 09:00:00+00:00,U

        """.write(to: file, atomically: true, encoding: .utf8)
        let warehouse = try SQLiteWarehouse(path: directory.appendingPathComponent("firn.sqlite").path)
        let report = try await FileLoader(warehouse: warehouse, reader: ReaderConfiguration()).load(file.path)
        guard report.status == .loaded else { throw HarnessError("load: \(report.status) \(report.error ?? "")") }
        return warehouse
    }

    /// Runs a server until `body` returns, then shuts it down gracefully and waits for it.
    static func withServer<T: Sendable>(
        _ configuration: DashboardConfiguration = .testing,
        sources: DashboardSources,
        _ body: (DashboardHarness) async throws -> T
    ) async throws -> T {
        let server = DashboardServer(configuration: configuration, sources: sources, requirement: .required)
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = Date().addingTimeInterval(30)
            while server.port == nil && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            guard let port = server.port else { throw HarnessError("the server did not start") }
            do {
                let result = try await body(DashboardHarness(port: port))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    func request(
        _ path: String,
        method: HTTPMethod = .GET,
        headers: [(String, String)] = []
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await Self.client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Answer {
        try await request(path, headers: headers)
    }
}

extension DashboardConfiguration {
    /// Loopback, a free port, quick intervals.
    static var testing: DashboardConfiguration {
        var configuration = DashboardConfiguration()
        configuration.port = 0
        configuration.eventInterval = .milliseconds(100)
        configuration.seriesInterval = .milliseconds(200)
        return configuration
    }
}
