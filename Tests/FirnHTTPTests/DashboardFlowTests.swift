import FirnCore
import FirnFlow
import FirnHTTP
import FirnIngest
import FirnObjectStore
import FirnPipe
import FirnSQLiteWarehouse
import Foundation
import Logging
import Testing

/// The dashboard inside a running flow (as in `firn run`): live counts, the plot, `/metrics`.
@Suite struct DashboardFlowTests {
    static func land(_ name: String, rows: Range<Int>, in landing: String) throws {
        var text = "customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op\n"
        for row in rows {
            let time = Timestamp(microseconds: 1_790_000_000_000_000 + Int64(row) * 1_000_000)
            text += "\(row % 50 + 1),F\(row),L,e@x,\(row) St,City,,C,\(time),U\n"
        }
        try text.write(toFile: landing + "/." + name, atomically: false, encoding: .utf8)
        try FileManager.default.moveItem(atPath: landing + "/." + name, toPath: landing + "/" + name)
    }

    @Test func countsMoveAndMetricsParse() async throws {
        let root = try DashboardHarness.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let landing = root + "/landing"
        try FileManager.default.createDirectory(atPath: landing, withIntermediateDirectories: true)
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        var pipe = PipeConfiguration(downloadDirectory: root + "/downloads")
        pipe.pollInterval = .milliseconds(200)
        let flow = try Flow(
            configuration: FlowConfiguration(ingest: IngestConfiguration(landingDirectory: landing, dataDirectory: root), pipe: pipe),
            store: try DirectoryBucket(root: root + "/bucket"),
            warehouse: warehouse,
            journal: try IngestJournal(path: root + "/ingest.sqlite"),
            logger: Logger(label: "firn.test")
        )
        let server = DashboardServer(
            configuration: .testing,
            sources: DashboardSources(warehouse: warehouse, flow: flow, journal: flow.journal),
            requirement: .required
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await flow.run(watchers: [server]) { _ in } }
            let deadline = Date().addingTimeInterval(30)
            while server.port == nil && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let harness = DashboardHarness(port: try #require(server.port))
            for index in 0..<3 { try Self.land("d-\(index).csv", rows: index * 100..<(index + 1) * 100, in: landing) }
            var status: [String: Any] = [:]
            while Date() < deadline {
                status = try await harness.get("/api/status").object()
                if (status["pipe"] as? [String: Any])?["loaded"] as? Int == 3 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let pipeStatus = try #require(status["pipe"] as? [String: Any])
            #expect(pipeStatus["loaded"] as? Int == 3)
            #expect(pipeStatus["rowsLoaded"] as? Int == 300)
            #expect((status["ingest"] as? [String: Any])?["uploaded"] as? Int == 3)
            #expect(status["mode"] as? String == "run")
            #expect(status["liveRows"] as? Int == 50)
            #expect((status["freshness"] as? [String: Any])?["count"] as? Int == 3)

            // The provenance of a landed file: landed, uploaded with key and ETag, archived, loaded.
            let provenance = try await harness.get("/api/provenance?file=d-1.csv").object()
            let file = try #require((provenance["files"] as? [[String: Any]])?.first)
            #expect(file["etag"] as? String != nil)
            #expect(file["state"] as? String == "archived")
            #expect((provenance["loads"] as? [[String: Any]])?.first?["status"] as? String == "loaded")

            let metrics = try await harness.get("/metrics")
            #expect(metrics.headers.first(name: "content-type")?.hasPrefix("text/plain") == true)
            let samples = try PrometheusText.parse(metrics.text)
            #expect((samples[#"firn_pipe_files_total{status="loaded"}"#] ?? 0) >= 3)
            #expect((samples[#"firn_pipe_rows_total{outcome="loaded"}"#] ?? 0) >= 300)
            #expect(samples[#"firn_objects{state="waiting"}"#] != nil)
            #expect((samples["firn_apply_rows_total"] ?? 0) >= 300)
            #expect((samples[#"firn_apply_seconds_total{phase="write"}"#] ?? 0) > 0)
            let buckets = samples.filter { $0.key.hasPrefix("firn_freshness_seconds_bucket") }
            #expect(buckets.count == FirnMetricsBuckets.freshness.count + 1)
            #expect(samples[#"firn_freshness_seconds_bucket{le="+Inf"}"#] == samples["firn_freshness_seconds_count"])
            #expect((samples["firn_freshness_seconds_count"] ?? 0) >= 3)

            // The plot fills with points as the recorder samples.
            var points: [Any] = []
            while Date() < deadline && points.count < 2 {
                points = try await harness.get("/api/series").object()["points"] as? [Any] ?? []
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(points.count >= 2)

            // A separate `firn serve` on the same warehouse shows the freshness load history kept.
            let flowFreshness = try #require(status["freshness"] as? [String: Any])
            try await DashboardHarness.withServer(sources: DashboardSources(warehouse: warehouse)) { serve in
                let loads = try #require(try await serve.get("/api/loads").object()["items"] as? [[String: Any]])
                #expect(loads.count == 3)
                #expect(loads.allSatisfy { ($0["freshnessSeconds"] as? Double).map { $0 > 0 && $0 < 30 } == true })
                let served = try #require(try await serve.get("/api/status").object()["freshness"] as? [String: Any])
                #expect(served["count"] as? Int == 3)
                // Landing to the commit (the flow) and landing to the recorded finish (the warehouse)
                // differ by the moments between the finish time's reading and the commit.
                let gap = abs((served["max"] as? Double ?? 0) - (flowFreshness["max"] as? Double ?? 0))
                #expect(gap < 0.25, "flow \(flowFreshness), warehouse \(served)")
            }
            await flow.shutDownGracefully()
            try await tasks.waitForAll()
        }
    }
}

enum FirnMetricsBuckets {
    static let freshness = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
}

/// A strict reader of Prometheus' text format (0.0.4): comments, then `name{labels} value`
/// lines; anything else is an error.
enum PrometheusText {
    struct FormatError: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        let name = #"[a-zA-Z_:][a-zA-Z0-9_:]*"#
        let labels = #"(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})?"#
        let line = try Regex("^(\(name)\(labels)) (-?[0-9.eE+-]+|NaN|\\+Inf|-Inf)$")
        for raw in text.split(separator: "\n") {
            if raw.hasPrefix("# TYPE ") || raw.hasPrefix("# HELP ") { continue }
            guard let match = try line.wholeMatch(in: String(raw)), let series = match.output[1].substring,
                let value = match.output[3].substring.flatMap({ Double($0) ?? ($0 == "+Inf" ? .infinity : nil) })
            else {
                throw FormatError(description: "not Prometheus text format: \(raw)")
            }
            samples[String(series)] = value
        }
        return samples
    }
}
