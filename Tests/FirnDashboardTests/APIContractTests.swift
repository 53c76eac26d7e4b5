import Foundation
import Testing

/// Property-based API testing with schemathesis (PyPI) against `firn serve` over a warehouse
/// the real `firn` filled: every operation in `/openapi.json` is called with generated valid
/// and invalid parameters, and every answer must match the document (status, content type,
/// body schema) with no server error, including 405s for undocumented methods.
@Suite(.serialized) struct APIContractTests {
    @Test func everyRouteAnswersAsTheDocumentSays() async throws {
        let schemathesis = try #require(
            Self.which("schemathesis"),
            "schemathesis is missing: scripts/test installs it (pip install schemathesis)"
        )
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("firn-api-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        // A warehouse with loads, rejects, history and tasks to read.
        let generate = try ChildProcess.start(
            DashboardBrowserTests.binary("firn"),
            ["generate", "--data-dir", work.path, "--files", "3", "--rows-per-file", "200", "--rate", "100000"]
        )
        #expect(try await generate.waitForExit(seconds: 60) == 0, "\(generate.text)")
        let landing = work.appendingPathComponent("landing")
        try """
        customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op
        900001,Bad,Row,b@x,1 St,Oslo,,NO,not-a-time,U

        """.write(to: landing.appendingPathComponent("bad.csv"), atomically: true, encoding: .utf8)
        let files = try FileManager.default.contentsOfDirectory(atPath: landing.path).filter { $0.hasSuffix(".csv") }.sorted()
        let load = try ChildProcess.start(
            DashboardBrowserTests.binary("firn"),
            ["load", "--data-dir", work.path] + files.map { landing.appendingPathComponent($0).path }
        )
        #expect(try await load.waitForExit(seconds: 120) == 0, "\(load.text)")

        let serve = try ChildProcess.start(
            DashboardBrowserTests.binary("firn"),
            ["serve", "--data-dir", work.path, "--http", "127.0.0.1:0"]
        )
        defer { serve.stop() }
        let line = try await serve.waitForLine(containing: "dashboard at http://", seconds: 60)
        let base = String(line[line.range(of: "http://")!.lowerBound...].prefix { !$0.isWhitespace })
        let run = try ChildProcess.start(
            schemathesis,
            [
                "run", base + "openapi.json", "--checks", "all", "--max-examples", "40", "--workers", "1",
                "--exclude-path", "/api/events", "--seed", "1", "--no-color",
            ],
            in: work  // schemathesis keeps a cache in its working directory
        )
        let status = try await run.waitForExit(seconds: 600)
        #expect(status == 0, "schemathesis found mismatches or server errors:\n\(run.text.suffix(6000))")
    }

    static func which(_ name: String) -> URL? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }
}
