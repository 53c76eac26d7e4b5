import FirnCore
import Foundation

/// The keys that complete key states let go of when they reached their capacity
/// (``KeyStateCache/States``), so that they stay complete: a key that is neither held nor
/// here was never seen, and needs no probe.
///
/// One Bloom filter per eviction, each sized for the keys it took. A key that was inserted is
/// always found (no false negatives); a key that was not is found with a probability of about
/// ``falsePositiveRate`` per filter, and then it is only probed in the database, which is always
/// correct. At most ``maximumFilters`` filters are kept (``isFull``), about 1.8 bytes per key
/// each, so the memory stays bounded: 360 KiB per eviction of 200,000 keys.
public struct EvictedKeys: Sendable {
    /// The design rate of false positives of one filter.
    public static let falsePositiveRate = 0.001

    /// The most filters (evictions) kept; past it complete states give up being complete.
    public static let maximumFilters = 64

    private struct Filter: Sendable {
        var words: [UInt64]
        /// Bits in the filter (at most 2^32).
        let bits: UInt64
        /// Bits set per key.
        let hashes: Int

        init(keys: Int) {
            // m = -n ln p / (ln 2)^2 bits and k = (m / n) ln 2 hashes (rounded).
            let perKey = -log(EvictedKeys.falsePositiveRate) / (log(2.0) * log(2.0))
            let wanted = max(64, Int((Double(max(keys, 1)) * perKey).rounded(.up)))
            // At most 2^32 bits, so that a position (below) cannot overflow.
            let count = min(wanted, Int(UInt32.max) - 63) / 64 + 1
            words = Array(repeating: 0, count: count)
            bits = UInt64(count * 64)
            hashes = max(1, Int((perKey * log(2.0)).rounded()))
        }

        /// The filter's `index`-th bit position of a key's hash (double hashing).
        @inline(__always)
        func position(_ hash: UInt64, _ index: UInt64) -> Int {
            let first = UInt64(truncatingIfNeeded: UInt32(truncatingIfNeeded: hash))
            let second = (hash >> 32) | 1
            let mixed = UInt32(truncatingIfNeeded: first &+ index &* second)
            return Int((UInt64(mixed) &* bits) >> 32)
        }

        mutating func insert(_ hash: UInt64) {
            for index in 0..<UInt64(hashes) {
                let bit = position(hash, index)
                words[bit >> 6] |= 1 << UInt64(bit & 63)
            }
        }

        /// Stops at the first clear bit: a key that was not inserted usually costs one or two
        /// reads per filter, not one per hash.
        func contains(_ hash: UInt64) -> Bool {
            for index in 0..<UInt64(hashes) {
                let bit = position(hash, index)
                if words[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
            }
            return true
        }
    }

    private var filters: [Filter] = []

    /// No keys.
    public init() {}

    /// Whether no key was inserted.
    public var isEmpty: Bool { filters.isEmpty }

    /// Whether ``maximumFilters`` evictions are held: no more can be taken.
    public var isFull: Bool { filters.count >= Self.maximumFilters }

    /// The bytes the filters take.
    public var byteCount: Int { filters.reduce(0) { $0 + $1.words.count * 8 } }

    /// Adds the keys of one eviction, as a filter of their own.
    public mutating func insert(_ keys: some Collection<Key>) {
        guard !keys.isEmpty else { return }
        var filter = Filter(keys: keys.count)
        for key in keys { filter.insert(Self.hash(key)) }
        filters.append(filter)
    }

    /// Whether `key` may have been inserted: always `true` when it was.
    public func mightContain(_ key: Key) -> Bool {
        guard !filters.isEmpty else { return false }
        let hash = Self.hash(key)
        return filters.contains { $0.contains(hash) }
    }

    /// A 64-bit hash of a key, mixed so that both halves vary.
    @inline(__always)
    static func hash(_ key: Key) -> UInt64 {
        SplitMix64.mix(UInt64(bitPattern: Int64(key.hashValue)))
    }
}
