import NIOConcurrencyHelpers

/// Percentiles of how long files took from landing to the commit that put their last row into
/// SCD1 and SCD2.
public struct FreshnessSummary: Sendable, Hashable, CustomStringConvertible {
    /// Files measured.
    public var count: Int
    /// Median, in seconds.
    public var p50: Double
    /// 95th percentile, in seconds.
    public var p95: Double
    /// 99th percentile, in seconds.
    public var p99: Double
    /// Slowest, in seconds.
    public var max: Double

    public var description: String {
        guard count > 0 else { return "freshness n/a" }
        return "freshness p50 \(Self.format(p50)) p99 \(Self.format(p99)) max \(Self.format(max))"
    }

    /// `12 ms` below a second, `1.25 s` above.
    public static func format(_ seconds: Double) -> String {
        seconds < 1 ? "\(Int((seconds * 1000).rounded())) ms" : String(format: "%.2f s", seconds)
    }
}

/// Measures freshness: the time from a file's landing (its rename into the landing directory,
/// told by the generator; else the moment ingest took it) to the commit of its load.
///
/// Memory is bounded however long the flow runs: percentiles are over the latest ``capacity``
/// files, and older samples are dropped (at most twice that many are held).
public final class FreshnessTracker: Sendable {
    struct State {
        var landed: [String: Int64] = [:]
        var keyToName: [String: String] = [:]
        /// The latest samples, in commit order.
        var samples: [Double] = []
        /// Samples dropped from the front of ``samples``.
        var dropped = 0
    }
    let state = NIOLockedValueBox(State())
    /// How many of the latest files the percentiles are over.
    public let capacity: Int

    /// Creates an empty tracker whose percentiles are over the latest `capacity` files
    /// (100,000 by default).
    public init(capacity: Int = 100_000) {
        self.capacity = max(1, capacity)
    }

    /// A file was renamed into the landing directory at this wall-clock time.
    public func landed(name: String, atNanoseconds nanoseconds: Int64) {
        state.withLockedValue { $0.landed[name] = nanoseconds }
    }

    /// Ingest uploaded a file under `key`; `takenAtNanoseconds` stands in for its landing time
    /// when the generator did not tell it. Returns the landing time used, in nanoseconds.
    @discardableResult
    public func uploaded(name: String, key: String, takenAtNanoseconds: Int64) -> Int64 {
        state.withLockedValue { state in
            state.keyToName[key] = name
            if state.landed[name] == nil { state.landed[name] = takenAtNanoseconds }
            return state.landed[name]!
        }
    }

    /// The object under `key` committed at this time; returns the file's freshness in seconds
    /// when its landing time is known.
    @discardableResult
    public func committed(key: String, atNanoseconds nanoseconds: Int64) -> Double? {
        state.withLockedValue { state in
            guard let name = state.keyToName.removeValue(forKey: key),
                let landed = state.landed.removeValue(forKey: name)
            else { return nil }
            let seconds = Double(nanoseconds - landed) / 1e9
            state.samples.append(seconds)
            // Drop the oldest in one go once twice the capacity is held (amortised: one copy per
            // `capacity` samples).
            if state.samples.count >= 2 * capacity {
                let excess = state.samples.count - capacity
                state.samples.removeFirst(excess)
                state.dropped += excess
            }
            return seconds
        }
    }

    /// The samples recorded after the first `index` ones, in commit order, and how many there
    /// are in all (the next call's `index`): what one interval of a plot needs. Samples already
    /// dropped are not returned.
    public func samples(after index: Int) -> (samples: [Double], count: Int) {
        state.withLockedValue { state in
            let start = Swift.min(Swift.max(0, index - state.dropped), state.samples.count)
            return (Array(state.samples[start...]), state.dropped + state.samples.count)
        }
    }

    /// Percentiles over the latest ``capacity`` files measured.
    public func summary() -> FreshnessSummary {
        FreshnessSummary(of: state.withLockedValue { Array($0.samples.suffix(capacity)) })
    }
}

extension FreshnessSummary {
    /// Percentiles of these samples, in seconds (nearest rank).
    public init(of unsorted: [Double]) {
        let samples = unsorted.sorted()
        guard !samples.isEmpty else {
            self.init(count: 0, p50: 0, p95: 0, p99: 0, max: 0)
            return
        }
        func percentile(_ p: Double) -> Double {
            samples[Swift.min(samples.count - 1, Int((p * Double(samples.count)).rounded(.up)) - 1)]
        }
        self.init(
            count: samples.count,
            p50: percentile(0.50),
            p95: percentile(0.95),
            p99: percentile(0.99),
            max: samples.last!
        )
    }
}
