import FirnFlow
import Testing

/// Freshness percentiles stay over a bounded window of the latest files, and a plot reading
/// samples by index sees each sample once, across the window's drops.
@Suite struct FreshnessTrackerTests {
    /// Records file `n` with a freshness of `n` milliseconds.
    static func record(_ tracker: FreshnessTracker, _ n: Int) {
        tracker.landed(name: "f\(n)", atNanoseconds: 0)
        tracker.uploaded(name: "f\(n)", key: "k\(n)", takenAtNanoseconds: 0)
        tracker.committed(key: "k\(n)", atNanoseconds: Int64(n) * 1_000_000)
    }

    @Test func percentilesAreOverTheLatestFilesAndMemoryIsBounded() {
        let tracker = FreshnessTracker(capacity: 4)
        var seen: [Double] = []
        var index = 0
        for n in 1...25 {
            Self.record(tracker, n)
            // A reader every third file, as the dashboard's plot reads every few seconds.
            if n % 3 == 0 {
                let (samples, count) = tracker.samples(after: index)
                seen += samples
                index = count
            }
        }
        seen += tracker.samples(after: index).samples
        #expect(seen == (1...25).map { Double($0) / 1000 })
        let summary = tracker.summary()
        #expect(summary.count == 4)
        #expect(summary.p50 == 0.023)
        #expect(summary.max == 0.025)
        // Never more than twice the window is held.
        #expect(tracker.samples(after: 0).samples.count < 8)
    }
}
