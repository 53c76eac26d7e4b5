import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A W3C WebDriver client for the real `chromedriver` driving headless Chromium (Debian's
/// `chromium` and `chromium-driver`): just the commands the dashboard's test uses.
struct WebDriver {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let endpoint: String
    let session: String

    /// Starts a session with headless Chromium, capturing the browser's console.
    static func startSession(driverPort: Int) async throws -> WebDriver {
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=1400,2700", "--no-first-run", "--disable-extensions",
                        ],
                    ],
                    "goog:loggingPrefs": ["browser": "ALL"],
                ]
            ]
        ]
        let endpoint = "http://127.0.0.1:\(driverPort)"
        let answer = try await call(endpoint + "/session", method: .POST, body: capabilities)
        guard let value = answer["value"] as? [String: Any], let session = value["sessionId"] as? String else {
            throw Failure(description: "chromedriver did not start a session: \(answer)")
        }
        return WebDriver(endpoint: endpoint, session: session)
    }

    var base: String { "\(endpoint)/session/\(session)" }

    func open(_ url: String) async throws {
        _ = try await Self.call(base + "/url", method: .POST, body: ["url": url])
    }

    /// The first element matching a CSS selector, or `nil`.
    func element(_ selector: String) async throws -> String? {
        let answer = try await Self.call(
            base + "/element",
            method: .POST,
            body: ["using": "css selector", "value": selector],
            allowError: true
        )
        guard let value = answer["value"] as? [String: Any] else { return nil }
        return value.first { $0.key.hasPrefix("element-") }?.value as? String
    }

    func elements(_ selector: String) async throws -> [String] {
        let answer = try await Self.call(base + "/elements", method: .POST, body: ["using": "css selector", "value": selector])
        return (answer["value"] as? [[String: Any]] ?? []).compactMap { value in
            value.first { $0.key.hasPrefix("element-") }?.value as? String
        }
    }

    func text(_ element: String) async throws -> String {
        try await Self.call(base + "/element/\(element)/text", method: .GET)["value"] as? String ?? ""
    }

    func click(_ element: String) async throws {
        _ = try await Self.call(base + "/element/\(element)/click", method: .POST, body: [:])
    }

    /// Clicks the first element matching `selector`, found again when the page re-rendered it
    /// between finding and clicking (the dashboard redraws its tables every few seconds, and a
    /// click on a replaced element fails with "stale element reference").
    func click(selector: String, attempts: Int = 5) async throws {
        for attempt in 1...attempts {
            guard let element = try await element(selector) else {
                throw Failure(description: "no element matches \(selector)")
            }
            do {
                try await click(element)
                return
            } catch where attempt < attempts && "\(error)".contains("stale element reference") {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func type(_ text: String, into element: String) async throws {
        _ = try await Self.call(base + "/element/\(element)/value", method: .POST, body: ["text": text])
    }

    /// Runs JavaScript in the page and returns its result.
    func script(_ source: String) async throws -> Any? {
        try await Self.call(base + "/execute/sync", method: .POST, body: ["script": source, "args": [Any]()])["value"]
    }

    /// The browser console's entries since the last call (chromedriver's log endpoint).
    func consoleEntries() async throws -> [[String: Any]] {
        try await Self.call(base + "/se/log", method: .POST, body: ["type": "browser"])["value"] as? [[String: Any]] ?? []
    }

    /// A PNG of the viewport.
    func screenshot() async throws -> Data {
        guard let text = try await Self.call(base + "/screenshot", method: .GET)["value"] as? String,
            let data = Data(base64Encoded: text)
        else { throw Failure(description: "no screenshot") }
        return data
    }

    func quit() async {
        _ = try? await Self.call(base, method: .DELETE)
    }

    /// Polls `read` until `holds` accepts its value, or throws after `seconds` naming `what`.
    func wait<T>(
        _ what: String,
        seconds: Double = 30,
        _ read: () async throws -> T?,
        until holds: (T) -> Bool = { _ in true }
    ) async throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        var last: T?
        while Date() < deadline {
            last = try? await read()
            if let last, holds(last) { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw Failure(description: "timed out after \(seconds) s waiting for \(what); last seen: \(String(describing: last))")
    }

    static func call(
        _ url: String,
        method: HTTPMethod,
        body: [String: Any]? = nil,
        allowError: Bool = false
    ) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        if let body {
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: Any] ?? [:]
        if response.status.code >= 400 && !allowError {
            throw Failure(description: "WebDriver \(method) \(url): \(response.status) \(object["value"] ?? "")")
        }
        return object
    }
}
