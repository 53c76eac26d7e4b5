import FirnCore
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// The shared batch planning (``BatchPlan``) under random history policies, against
/// ``ReferenceModel``, with storage held in memory exactly as the backends hold it: versions
/// and kept records, no staging. Batches arrive in random splits, so in-order batches, late
/// records, ties and replays from a moved-back start all occur. Thousands of cases run in a
/// second; the backends' own property tests (``SCDPropertyTests``) then hold their storage to
/// the same model. `FIRN_SCD_SEED=<n>` replays one case.
@Suite struct BatchPlanPolicyTests {
    static let key = Key(1)
    static let values: [Value] = [.null, .text(""), .text("a"), .text("b")]

    static func time(_ step: Int) -> Timestamp { Timestamp(microseconds: 1_700_000_000_000_000 + Int64(step) * 1000) }

    /// One key's stored rows, as a backend keeps them.
    struct Stored {
        var versions: [Version] = []
        var kept: [ChangeRecord] = []

        /// The latest event time of a record that counted: what a backend's probe reads.
        var latest: Timestamp? {
            let times = versions.flatMap { [$0.start] + ($0.end.map { [$0] } ?? []) } + kept.map(\.eventTime)
            return times.max()
        }

        func versions(endingFrom from: Timestamp) -> [Version] {
            versions.filter { $0.end.map { $0 >= from } ?? true }
        }

        /// Applies one batch of one key as the backends do (see ``BatchPlan``).
        mutating func apply(_ batch: [ChangeRecord], policy: HistoryPolicy) {
            let from = batch.map(\.eventTime).min()!
            var group = KeyGroup(key: BatchPlanPolicyTests.key, from: from, range: 0..<batch.count)
            let changes: HistoryChanges
            if latest.map({ $0 < from }) ?? true {
                group.open = versions.last.flatMap { $0.isCurrent ? $0 : nil }
                changes = BatchPlan.reconcileInOrder(group: group, records: batch, order: Array(batch.indices), policy: policy).0
                kept += changes.unchanged
            } else {
                var existing = versions(endingFrom: from)
                let since = BatchPlan.replayStart(existing: existing, from: from, policy: policy)
                if since < from { existing = versions(endingFrom: since) }
                changes = BatchPlan.replay(
                    key: group.key,
                    existing: existing,
                    unchanged: kept.filter { $0.eventTime >= since },
                    records: batch,
                    from: since,
                    policy: policy
                ).0
                kept.removeAll { $0.eventTime >= since }
                kept += changes.unchanged
            }
            var byStart = Dictionary(uniqueKeysWithValues: versions.map { ($0.start, $0) })
            for version in changes.deleted { byStart[version.start] = nil }
            for version in changes.updated + changes.ended + changes.inserted { byStart[version.start] = version }
            versions = byStart.values.sorted { $0.start < $1.start }
        }
    }

    static func records(_ rng: inout SeededGenerator) -> [ChangeRecord] {
        let times = rng.int(1...8)
        return (0..<rng.int(1...14)).map { index in
            ChangeRecord(
                key: key,
                eventTime: time(rng.int(0...times)),
                operation: rng.chance(0.15) ? .delete : .upsert,
                attributes: (0..<3).map { _ in values.randomElement(using: &rng)! },
                arrival: Arrival(load: Int64(index + 1), row: 1)
            )
        }
    }

    @Test func batchesUnderRandomPoliciesMatchTheModel() {
        var failures = 0
        let seeds: [UInt64] =
            ProcessInfo.processInfo.environment["FIRN_SCD_SEED"].flatMap(UInt64.init).map { [$0] } ?? Array(0..<5000)
        for seed in seeds where failures < 3 {
            var rng = SeededGenerator(seed: seed)
            let untracked = Set((0..<3).filter { _ in rng.chance(0.4) })
            let ignoreNulls = rng.chance(0.5)
            let policy = HistoryPolicy(untracked: untracked, nullUpdates: ignoreNulls ? .ignore : .apply)
            let all = Self.records(&rng)
            var stored = Stored()
            var start = 0
            while start < all.count {
                let end = min(all.count, start + rng.int(1...4))
                stored.apply(Array(all[start..<end]), policy: policy)
                start = end
            }
            let expected = ReferenceModel.history(all, untracked: untracked, ignoreNulls: ignoreNulls).map(\.historyRow)
            let same = stored.versions.map(\.historyRow) == expected
            #expect(
                same,
                """
                seed \(seed): \(policy)
                records: \(all.map { "\($0.arrival.load) \($0.operation.rawValue) t=\($0.eventTime) \($0.attributes)" })
                got:      \(stored.versions.map(\.historyRow))
                expected: \(expected)
                """
            )
            if !same { failures += 1 }
        }
    }
}
