import FirnFlow
import FirnHTTP
import Foundation

/// Whether a browser shows the dashboard while `firn bench flow` runs.
public enum FlowBenchmarkPage: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The dashboard serves, no page is open.
    case none
    /// Headless Chromium (`/usr/bin/chromium`) keeps the page open, live, for the whole run.
    case chromium

    public var description: String { self == .none ? "no page" : "page open" }
}

/// A headless Chromium showing a page until stopped, in a profile of its own.
final class OpenPage: Sendable {
    let process: Process

    /// Opens `url` in headless Chromium.
    ///
    /// - Throws: ``FlowBenchmarkError/noBrowser(_:)`` when Chromium is not installed.
    init(url: String, profile: String) throws {
        let binary = "/usr/bin/chromium"
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw FlowBenchmarkError.noBrowser(binary) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-extensions", "--user-data-dir=\(profile)", "--remote-debugging-port=0", "--window-size=1400,2200", url,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// Closes the browser: SIGTERM, then SIGKILL after five seconds (waiting without
    /// holding a thread of the cooperative pool).
    func close() async {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Why a flow benchmark could not run.
public enum FlowBenchmarkError: Error, Sendable, CustomStringConvertible {
    /// `--page chromium` without Chromium.
    case noBrowser(String)
    /// The page never connected to the dashboard.
    case pageDidNotConnect(String)

    public var description: String {
        switch self {
        case .noBrowser(let path): "no browser at \(path) (apt-get install chromium) for --page chromium"
        case .pageDidNotConnect(let url): "the page \(url) did not connect to the dashboard within 30 s"
        }
    }
}

/// The freshness histogram `/metrics` shows (cumulative counts by upper bound), as a
/// difference between two readings, so one run's files are compared with its own tracker.
struct FreshnessHistogram: Sendable, Hashable {
    var bounds: [Double]
    var counts: [Double]

    /// Reads `firn_freshness_seconds_bucket` from the dashboard's registry now.
    static func now() -> FreshnessHistogram {
        var pairs: [(Double, Double)] = []
        for line in DashboardServer.registry.emitToString().split(separator: "\n")
        where line.hasPrefix("firn_freshness_seconds_bucket{le=\"") {
            let rest = line.dropFirst("firn_freshness_seconds_bucket{le=\"".count)
            guard let quote = rest.firstIndex(of: "\""), let space = rest.lastIndex(of: " ") else { continue }
            let bound = rest[..<quote] == "+Inf" ? Double.infinity : Double(rest[..<quote]) ?? .nan
            pairs.append((bound, Double(rest[rest.index(after: space)...]) ?? 0))
        }
        pairs.sort { $0.0 < $1.0 }
        return FreshnessHistogram(bounds: pairs.map(\.0), counts: pairs.map(\.1))
    }

    /// This reading minus an earlier one.
    func since(_ earlier: FreshnessHistogram) -> FreshnessHistogram {
        guard earlier.bounds == bounds else { return self }
        return FreshnessHistogram(bounds: bounds, counts: zip(counts, earlier.counts).map { $0 - $1 })
    }

    /// The index of the first bucket holding the `q` quantile (nearest rank), or `nil` when empty.
    func bucket(ofQuantile q: Double) -> Int? {
        guard let total = counts.last, total > 0 else { return nil }
        let rank = max(1, (q * total).rounded(.up))
        return counts.firstIndex { $0 >= rank }
    }

    /// The index of the bucket a value falls in.
    func bucket(of value: Double) -> Int? {
        bounds.firstIndex { value <= $0 }
    }

    /// Whether the histogram's p50 and p99 fall in the same bucket as the tracker's, or the next.
    func agrees(with freshness: FreshnessSummary) -> Bool {
        for (q, value) in [(0.5, freshness.p50), (0.99, freshness.p99)] {
            guard let histogram = bucket(ofQuantile: q), let tracked = bucket(of: value) else { return false }
            if abs(histogram - tracked) > 1 { return false }
        }
        return true
    }

    /// `p50 ≤ 0.05 s, p99 ≤ 0.1 s`.
    var summary: String {
        func bound(_ q: Double) -> String {
            guard let index = bucket(ofQuantile: q) else { return "n/a" }
            return bounds[index].isInfinite ? "> \(bounds[max(0, index - 1)]) s" : "≤ \(bounds[index]) s"
        }
        return "p50 \(bound(0.5)), p99 \(bound(0.99))"
    }
}
