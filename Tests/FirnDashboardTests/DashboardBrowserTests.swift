import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

/// The dashboard in a real headless Chromium, driven by WebDriver (`chromedriver`), against a
/// real `firn run --generate`: the page loads without console errors, the counts move, a
/// load's rejects open, a key's timeline shows the versions the API reports, and a task is
/// suspended and resumed from the page. A screenshot is saved under `test-output/`.
@Suite(.serialized) struct DashboardBrowserTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func thePageShowsTheFlowAndWorksFromTheBrowser() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            #expect(
                FileManager.default.isExecutableFile(atPath: tool),
                "\(tool) is missing: scripts/test installs Debian's chromium and chromium-driver"
            )
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("firn-browser-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let config = work.appendingPathComponent("firn.yaml")
        // `deletes: record` (with the generator, which takes options of the built-in customer):
        // a deleted key's span shows in its timeline.
        try """
        entity:
          deletes: record
        tasks:
          - name: tidy_counts
            schedule: 1 hour
            sql: SELECT count(*) FROM customer

        """.write(to: config, atomically: true, encoding: .utf8)

        let firn = try ChildProcess.start(
            Self.binary("firn"),
            [
                "run", "--data-dir", work.path, "--config", config.path, "--generate", "1000", "--rows-per-file", "500",
                "--late-fraction", "0.2", "--http", "127.0.0.1:0", "--status-interval", "1",
            ]
        )
        defer { firn.stop() }
        let address = try await firn.waitForLine(containing: "dashboard at http://", seconds: 60)
        let url = String(address[address.range(of: "http://")!.lowerBound...]).trimmingCharacters(in: .whitespaces)

        let driverPort = try ChildProcess.freePort()
        let driver = try ChildProcess.start(Self.chromedriver, ["--port=\(driverPort)"])
        defer { driver.stop() }
        _ = try await driver.waitForLine(containing: "started successfully", seconds: 30)
        let browser = try await WebDriver.startSession(driverPort: driverPort)
        do {
            try await exercise(browser, url: url, landing: work.appendingPathComponent("landing"))
            await browser.quit()
        } catch {
            await browser.quit()
            throw error
        }
    }

    func exercise(_ browser: WebDriver, url: String, landing: URL) async throws {
        try await browser.open(url)
        let header = try await browser.wait("the header to name the warehouse") { () async throws -> String? in
            guard let element = try await browser.element("#where") else { return nil }
            return try await browser.text(element)
        } until: { $0.contains("warehouse") }
        #expect(header.contains("run"))

        // The counts move: the pipe's file count grows while the page is open.
        func pipeFiles() async throws -> Int? {
            guard let node = try await browser.element("#node-pipe .count") else { return nil }
            return Int(try await browser.text(node).split(separator: " ").first?.replacingOccurrences(of: ",", with: "") ?? "")
        }
        let first = try await browser.wait("the pipe to load a file", pipeFiles) { $0 > 0 }
        _ = try await browser.wait("the pipe's count to move", pipeFiles) { $0 > first }
        _ = try await browser.wait("the plot to draw lines", seconds: 40) {
            try await browser.elements("#chart path.rows").count
        } until: { $0 > 0 }

        // A file with a bad row lands while the page is open, so a recent load has a reject to open.
        let bad = """
        customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op
        900001,Bad,Row,b@x,1 St,Oslo,,NO,yesterday-ish,U
        900002,Good,Row,g@x,2 St,Oslo,,NO,2026-01-01 10:00:00+00:00,U
        900002,Late,Row,l@x,2 St,Bergen,,NO,2025-12-31 10:00:00+00:00,U
        900003,Gone,Row,g@x,3 St,Oslo,,NO,2026-01-01 09:00:00+00:00,U
        900003,Gone,Row,g@x,3 St,Oslo,,NO,2026-01-01 11:00:00+00:00,D

        """
        try bad.write(to: landing.appendingPathComponent(".bad-rows.csv"), atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(
            at: landing.appendingPathComponent(".bad-rows.csv"),
            to: landing.appendingPathComponent("bad-rows.csv")
        )

        // A load's rejects open with a click.
        _ = try await browser.wait("the bad file's load in the table", seconds: 40) {
            try await browser.element("#loads tbody tr[data-file='bad-rows.csv']")
        }
        try await browser.click(selector: "#loads tbody tr[data-file='bad-rows.csv']")
        let rejects = try await browser.wait("the load's rejected rows") {
            try await browser.elements("#rejects tbody tr")
        } until: { !$0.isEmpty }
        #expect(rejects.count == 1)
        let reason = try await browser.text(rejects[0])
        #expect(reason.contains("yesterday-ish"))
        _ = try await browser.wait("the file's provenance") {
            try await browser.elements("#provenance li")
        } until: { $0.count >= 3 }

        // A late record is marked in its key's timeline: 900002's Bergen row came after its
        // later Oslo row, in the same file.
        let key = try #require(try await browser.element("#customer-key"))
        func show(_ customer: String) async throws {
            _ = try await browser.script("document.getElementById('customer-key').value = ''")
            try await browser.type(customer, into: key)
            try await browser.click(selector: "#customer-form button")
        }
        /// Opens a customer's history: exactly one of `marks` in its timeline, and one of
        /// `cells` in its table, saying `text`.
        func expectOne(_ customer: String, _ marks: String, _ cells: String, saying text: String) async throws {
            try await show(customer)
            _ = try await browser.wait("\(customer): one \(marks)") {
                try await browser.elements(marks).count
            } until: { $0 == 1 }
            let found = try await browser.elements(cells)
            #expect(found.count == 1, "\(customer): \(cells)")
            if let cell = found.first { #expect(try await browser.text(cell).contains(text)) }
        }
        try await expectOne("900002", "#timeline polygon.late", "#versions td.late", saying: "opened late")
        // A deleted key's span is drawn dashed and its row marked (`deletes: record`).
        try await expectOne("900003", "#timeline rect.deleted", "#versions tbody tr.deleted", saying: "(deleted)")

        // A key's timeline shows the versions the API reports.
        try await show("7")
        // The table's fifth column is the key.
        _ = try await browser.wait("key 7's versions") {
            try await browser.script("return document.querySelector('#versions tbody tr td:nth-child(5)')?.textContent") as? String
        } until: { $0 == "7" }
        let rows = try await browser.elements("#versions tbody tr")
        let api = try await Self.json(url + "api/history?key=7")
        let versions = try #require(api["versions"] as? [[String: Any]])
        // The flow keeps loading: the page may show the versions of a moment ago, never more.
        #expect(rows.count >= 1 && rows.count <= versions.count)
        let bars = try await browser.elements("#timeline rect")
        #expect(bars.count == rows.count)

        // A task is suspended and resumed from the page.
        func taskState() async throws -> String? {
            guard let cell = try await browser.element("#tasks tr[data-task='tidy_counts'] .state") else { return nil }
            return try await browser.text(cell)
        }
        _ = try await browser.wait("the task in the table", taskState) { $0 == "started" }
        try await browser.click(selector: "#tasks tr[data-task='tidy_counts'] button.toggle")
        _ = try await browser.wait("the task to be suspended", taskState) { $0 == "suspended" }
        try await browser.click(selector: "#tasks tr[data-task='tidy_counts'] button.toggle")
        _ = try await browser.wait("the task to be resumed", taskState) { $0 == "started" }

        // The screenshot shows the page as a user leaves it: the flow moving, key 7's history open.
        try await Task.sleep(for: .seconds(6))
        _ = try await browser.script("window.scrollTo(0, 0)")
        let shot = try await browser.screenshot()
        let output = Self.packageRoot.appendingPathComponent("test-output")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try shot.write(to: output.appendingPathComponent("dashboard.png"))
        print("DashboardBrowserTests: screenshot saved to \(output.appendingPathComponent("dashboard.png").path)")

        let errors = try await browser.consoleEntries().filter { ($0["level"] as? String) == "SEVERE" }
        #expect(errors.isEmpty, "console errors: \(errors)")
    }

    static func json(_ url: String) async throws -> [String: Any] {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] ?? [:]
    }

    static func binary(_ name: String) -> URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent(name)
    }

    static let chromedriver = URL(fileURLWithPath: "/usr/bin/chromedriver")
}
