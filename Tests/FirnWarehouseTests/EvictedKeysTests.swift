import FirnCore
import FirnTestSupport
import FirnWarehouse
import Foundation
import Testing

/// Complete key states that reach their capacity let go of their keys and remember which
/// (``EvictedKeys``): an evicted key must never pass for a new one.
@Suite struct EvictedKeysTests {
    @Test func insertedKeysAreAlwaysFoundAndOthersRarely() {
        var rng = SeededGenerator(seed: 11)
        var evicted = EvictedKeys()
        var inserted: [Key] = []
        for _ in 0..<5 {
            let keys = (0..<20_000).map { _ in Key(Int64(rng.int(0...Int(Int32.max)))) }
            evicted.insert(keys)
            inserted += keys
        }
        // Composite keys too.
        let composite = (0..<1_000).map { Key([.text("k\($0)"), .integer(Int64($0))]) }
        evicted.insert(composite)
        inserted += composite
        #expect(inserted.allSatisfy { evicted.mightContain($0) })
        let held = Set(inserted)
        let others = (0..<100_000).map { Key(Int64(Int32.max) + 1 + Int64($0)) }.filter { !held.contains($0) }
        let falsePositives = others.filter { evicted.mightContain($0) }.count
        // Six evictions in three filters (20,000 keys, then room for 40,000 and 80,000) at
        // about 0.1% each when full: well under 1% together.
        #expect(evicted.evictions == 6 && evicted.filterCount == 3)
        #expect(Double(falsePositives) / Double(others.count) < 0.01, "\(falsePositives) of \(others.count)")
        // 2 bytes a key of the filters' room (140,000 keys).
        #expect(evicted.byteCount <= 140_000 * 2 + 3 * 64)
        #expect(!EvictedKeys().mightContain(Key(1)))
    }

    @Test("evictions of one size take a filter per doubling, each near its designed rate when full")
    func filtersDoubleAndStayAccurate() {
        var rng = SeededGenerator(seed: 12)
        var evicted = EvictedKeys()
        var inserted: [Key] = []
        for eviction in 1...EvictedKeys.maximumEvictions {
            let keys = (0..<1_000).map { _ in Key(Int64(rng.int(0...Int(Int32.max)))) }
            evicted.insert(keys)
            inserted += keys
            // 1, 2-3, 4-7, …: a new filter at each power of two.
            #expect(evicted.filterCount == Int(log2(Double(eviction))) + 1, "after \(eviction) evictions")
        }
        #expect(evicted.isFull && evicted.filterCount == 6)
        #expect(inserted.allSatisfy { evicted.mightContain($0) })
        let held = Set(inserted)
        let others = (0..<200_000).map { Key(-1 - Int64($0)) }.filter { !held.contains($0) }
        let rate = Double(others.filter { evicted.mightContain($0) }.count) / Double(others.count)
        // Six full filters at about 0.08% each.
        #expect(rate < 0.006, "false positives \(rate)")
    }

    @Test func completeStatesStayCompleteWhenTheyLetKeysGo() {
        var states = KeyStateCache.States(capacity: 4)
        states.beginComplete()
        let state = { (seconds: Int64) in KeyState(latest: Timestamp(microseconds: seconds * 1_000_000), open: nil) }
        for key in 1...10 { states.store(state(Int64(key)), for: Key(Int64(key))) }
        // 1-4 and 5-8 were let go of; 9 and 10 are held.
        #expect(states.isComplete)
        #expect(states[Key(10)]?.latest == state(10).latest)
        // (Compared as booleans: a state never seen holds the earliest time, which has no text.)
        for key in 1...8 {
            let unknown = states.known(Key(Int64(key))) == nil
            #expect(unknown, "key \(key) was seen: it must be probed")
        }
        let never = states.known(Key(1_000))
        let isNew = never?.latest.microseconds == .min && never?.open == nil
        #expect(isNew, "a key never seen is known to be new")
        // A key stored again after it was let go of is known again.
        states.store(state(20), for: Key(3))
        #expect(states.known(Key(3))?.latest == state(20).latest)
        // Forgetting every key ends completeness, and with it what was let go of.
        states.removeAll()
        let probed = states.known(Key(1_000)) == nil
        #expect(!states.isComplete && states.evicted.isEmpty && probed)
    }

    @Test func statesGiveUpCompletenessAfterTheMostEvictions() {
        var states = KeyStateCache.States(capacity: 2)
        states.beginComplete()
        let stored = KeyState(latest: Timestamp(microseconds: 0), open: nil)
        var key: Int64 = 0
        while states.evicted.isFull == false {
            key += 1
            states.store(stored, for: Key(key))
        }
        #expect(states.isComplete)
        key += 1
        states.store(stored, for: Key(key))
        key += 1
        states.store(stored, for: Key(key))
        let probed = states.known(Key(key + 1)) == nil
        #expect(!states.isComplete && states.evicted.isEmpty && probed)
    }
}
