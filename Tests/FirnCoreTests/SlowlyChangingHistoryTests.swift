import FirnCore
import FirnTestSupport
import Foundation
import Testing

/// `SlowlyChangingHistory.replay` and `reconcile` against ``ReferenceModel`` on thousands of
/// random single-key record sets. `FIRN_SCD_SEED=<n>` replays one case.
@Suite struct SlowlyChangingHistoryTests {
    static let key = Key(1)
    static let values: [Value] = [.null, .text(""), .text("a"), .text("Zo\u{EB}"), .text("Zoe\u{308}"), .text("東京")]

    static func seeds(_ count: Int, salt: UInt64) -> [UInt64] {
        if let text = ProcessInfo.processInfo.environment["FIRN_SCD_SEED"], let seed = UInt64(text) { return [seed] }
        return (0..<UInt64(count)).map { salt &* 1_000_003 &+ $0 }
    }

    static func time(_ step: Int) -> Timestamp { Timestamp(microseconds: 1_700_000_000_000_000 + Int64(step) * 1000) }

    /// Random records of one key in arrival order: few times and few values, so ties,
    /// no-op upserts and late records are common.
    static func records(_ rng: inout SeededGenerator, count: Int? = nil, minimumTime: Int = 0) -> [ChangeRecord] {
        let times = rng.int(1...8)
        var result: [ChangeRecord] = []
        for index in 0..<(count ?? rng.int(0...14)) {
            let eventTime = time(minimumTime + rng.int(0...times))
            let operation: FirnCore.Operation = rng.chance(0.2) ? .delete : .upsert
            let attributes: [Value] = [values.randomElement(using: &rng)!, values[rng.int(0...1)]]
            let arrival = Arrival(load: Int64(index / 3 + 1), row: Int64(index % 3 + 1))
            result.append(
                ChangeRecord(
                    key: key,
                    eventTime: eventTime,
                    operation: operation,
                    attributes: attributes,
                    arrival: arrival
                )
            )
        }
        return result
    }

    static func rows(_ versions: [Version]) -> [[Cell]] { versions.map(\.historyRow) }

    @Test func replayWithoutPriorMatchesModel() {
        var failures = 0
        for seed in Self.seeds(4000, salt: 11) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let records = Self.records(&rng).shuffled(using: &rng)
            let replayed = SlowlyChangingHistory.replay(prior: nil, records: records)
            let same = Self.rows(replayed) == Self.rows(ReferenceModel.history(records))
            #expect(same, "seed \(seed): \(records)")
            if !same { failures += 1 }
        }
    }

    @Test func replayWithPriorMatchesModel() {
        var failures = 0
        for seed in Self.seeds(4000, salt: 12) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let records = Self.records(&rng, minimumTime: 1)
            let attributes = [Self.values.randomElement(using: &rng)!, .null]
            // The prior's end is ignored: it is reopened.
            let end = rng.chance(0.5) ? nil : Self.time(rng.int(1...4))
            let prior = Version(key: Self.key, attributes: attributes, start: Self.time(0), end: end)
            let opening = ChangeRecord(
                key: Self.key,
                eventTime: Self.time(0),
                operation: .upsert,
                attributes: attributes,
                arrival: Arrival(load: 0, row: 0)
            )
            let replayed = SlowlyChangingHistory.replay(prior: prior, records: records)
            let expected = ReferenceModel.history([opening] + records)
            let same = Self.rows(replayed) == Self.rows(expected)
            #expect(same, "seed \(seed): prior \(prior), \(records)")
            if !same { failures += 1 }
        }
    }

    /// Stored history of the earlier arrivals, then the later ones applied with `reconcile`
    /// as `BatchApplier` calls it, must give the model's history of all records, for both
    /// of its paths (in order: only the open version and the new records; otherwise the
    /// versions ending from `from` on and every record from `from` on).
    @Test func reconcileBringsStoredHistoryUpToDate() {
        var failures = 0
        for seed in Self.seeds(6000, salt: 13) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let all = Self.records(&rng, count: rng.int(1...14))
            let split = rng.int(0...(all.count - 1))
            let old = Array(all[..<split])
            let new = Array(all[split...])
            let stored = ReferenceModel.history(old)
            let from = new.map(\.eventTime).min()!
            let inOrder = old.allSatisfy { $0.eventTime < from }
            let existing: [Version]
            let replayed: [ChangeRecord]
            if inOrder && rng.chance(0.5) {
                existing = stored.last.flatMap { $0.isCurrent ? [$0] : nil } ?? []
                replayed = new
            } else {
                existing = stored.filter { $0.end.map { $0 >= from } ?? true }
                replayed = all.filter { $0.eventTime >= from }.shuffled(using: &rng)
            }
            let changes = SlowlyChangingHistory.reconcile(
                key: Self.key,
                existing: existing,
                records: replayed,
                from: from,
                policy: .standard
            )
            var byStart = [Timestamp: Version](uniqueKeysWithValues: stored.map { ($0.start, $0) })
            for version in changes.deleted { byStart[version.start] = nil }
            for version in changes.updated {
                #expect(byStart[version.start] != nil, "seed \(seed): update of a version not stored")
                byStart[version.start] = version
            }
            for version in changes.ended {
                let attributes = byStart[version.start].map {
                    ReferenceModel.sameAttributes($0.attributes, version.attributes)
                }
                #expect(attributes == true, "seed \(seed): an ended version must keep its stored attributes")
                byStart[version.start] = version
            }
            for version in changes.inserted {
                #expect(byStart[version.start] == nil, "seed \(seed): insert over a stored version")
                byStart[version.start] = version
            }
            let result = byStart.values.sorted { $0.start < $1.start }
            let expected = ReferenceModel.history(all)
            let context = "seed \(seed): old \(old), new \(new)"
            let same = Self.rows(result) == Self.rows(expected)
            #expect(same, "\(context)")
            if !same { failures += 1 }

            let oldOpen = stored.last.flatMap { $0.isCurrent ? $0 : nil }
            let newOpen = expected.last.flatMap { $0.isCurrent ? $0 : nil }
            #expect(changes.open.map(\.historyRow) == newOpen.map(\.historyRow), "\(context)")
            let current: Version? =
                switch changes.current {
                case .unchanged: oldOpen
                case .upsert(let version): version
                case .delete: nil
                }
            #expect(current.map(\.currentRow) == newOpen.map(\.currentRow), "\(context)")
        }
    }

    /// Under a random policy (untracked attributes, NULLs ignored), `replay` gives the model's
    /// history; the kept records plus the version boundaries replay to the same history.
    @Test func replayUnderPoliciesMatchesModel() {
        var failures = 0
        for seed in Self.seeds(4000, salt: 14) where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let untracked = Set((0..<2).filter { _ in rng.chance(0.5) })
            let ignoreNulls = rng.chance(0.5)
            let policy = HistoryPolicy(untracked: untracked, nullUpdates: ignoreNulls ? .ignore : .apply)
            let records = Self.records(&rng).shuffled(using: &rng)
            let (versions, kept) = SlowlyChangingHistory.replayKeepingUnchanged(prior: nil, records: records, policy: policy)
            let expected = Self.rows(ReferenceModel.history(records, untracked: untracked, ignoreNulls: ignoreNulls))
            var same = Self.rows(versions) == expected
            #expect(same, "seed \(seed): \(policy) \(records)")
            // What a backend stores (versions and kept records) replays to the same history.
            let boundaries = SlowlyChangingHistory.countingRecords(of: versions, from: Self.time(0))
            let again = SlowlyChangingHistory.replay(prior: nil, records: boundaries + kept, policy: policy)
            #expect(Self.rows(again) == expected, "seed \(seed): stored rows replay differently: \(policy) \(records)")
            same = same && Self.rows(again) == expected
            if !same { failures += 1 }
        }
    }
}
