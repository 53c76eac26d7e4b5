import FirnCore

/// The keys that complete key states let go of when they reached their capacity
/// (``KeyStateCache/States``), so that they stay complete: a key that is neither held nor
/// here was never seen, and needs no probe.
///
/// Blocked Bloom filters: a key's bits all lie in one 512-bit block, so looking a key up reads
/// one cache line per filter. Each filter is sized for twice the keys of the one before (the
/// first for the first eviction), so `e` evictions take about log2(e) filters, not `e`: a
/// batch's lookups stay a handful of memory reads per key however large the warehouse grew.
/// A key that was inserted is always found (no false negatives); a key that was not is found
/// with a probability of about 0.08% per full filter (16 bits and 10 hashes per key, in blocks
/// of 512 bits), and then it is only probed in the database, which is always correct. At most
/// ``maximumEvictions`` evictions are held (``isFull``), 2 bytes per key, so the memory stays
/// bounded: at most 25 MiB with evictions of 200,000 keys.
public struct EvictedKeys: Sendable {
    /// The most evictions remembered: six filters, for 1, 2, 4, 8, 16 and 32 evictions of one
    /// size. Past it complete states give up being complete.
    public static let maximumEvictions = 63

    static let bitsPerKey = 16
    static let hashes = 10

    private struct Filter: Sendable {
        /// Eight words (512 bits) per block.
        var words: [UInt64]
        let blocks: UInt64
        /// The keys it was sized for, and those inserted.
        let capacity: Int
        var count = 0

        init(capacity: Int) {
            self.capacity = capacity
            // At most 2^32 blocks, so that a block number (below) cannot overflow.
            let wanted = (max(capacity, 1) * EvictedKeys.bitsPerKey + 511) / 512
            blocks = UInt64(min(wanted, Int(UInt32.max)))
            words = Array(repeating: 0, count: Int(blocks) * 8)
        }

        /// The first word of a key's block.
        @inline(__always)
        func base(_ hash: UInt64) -> Int {
            Int(((hash >> 32) &* blocks) >> 32) &* 8
        }

        /// A key's bits in its block: nine bits each from two words mixed from its hash (seven
        /// from the first, three from the second). Independent positions: double hashing
        /// (`start + i × step`) inside a 512-bit block measured 0.2% false positives here, twice
        /// the design.
        @inline(__always)
        static func bits(_ hash: UInt64) -> (UInt64, UInt64) {
            let first = SplitMix64.mix(hash ^ 0x9E37_79B9_7F4A_7C15)
            return (first, SplitMix64.mix(first))
        }

        @inline(__always)
        static func bit(_ bits: (UInt64, UInt64), _ index: Int) -> Int {
            Int(index < 7 ? (bits.0 >> UInt64(9 * index)) & 511 : (bits.1 >> UInt64(9 * (index - 7))) & 511)
        }

        mutating func insert(_ hash: UInt64) {
            let base = base(hash)
            let bits = Self.bits(hash)
            for index in 0..<EvictedKeys.hashes {
                let bit = Self.bit(bits, index)
                words[base + bit >> 6] |= 1 << UInt64(bit & 63)
            }
            count += 1
        }

        /// Stops at the first clear bit: a key that was not inserted usually costs one or two
        /// tests, all in one block.
        func contains(_ hash: UInt64) -> Bool {
            let base = base(hash)
            let bits = Self.bits(hash)
            for index in 0..<EvictedKeys.hashes {
                let bit = Self.bit(bits, index)
                if words[base + bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
            }
            return true
        }
    }

    private var filters: [Filter] = []

    /// The evictions inserted.
    public private(set) var evictions = 0

    /// No keys.
    public init() {}

    /// Whether no key was inserted.
    public var isEmpty: Bool { filters.isEmpty }

    /// Whether ``maximumEvictions`` evictions are held: no more can be taken.
    public var isFull: Bool { evictions >= Self.maximumEvictions }

    /// The filters kept.
    public var filterCount: Int { filters.count }

    /// The bytes the filters take.
    public var byteCount: Int { filters.reduce(0) { $0 + $1.words.count * 8 } }

    /// Adds the keys of one eviction: into the last filter while it has room for them, else
    /// into a new one sized for twice the last (or for these keys, if more).
    public mutating func insert(_ keys: some Collection<Key>) {
        guard !keys.isEmpty else { return }
        evictions += 1
        if filters.last.map({ $0.count + keys.count > $0.capacity }) ?? true {
            filters.append(Filter(capacity: max(keys.count, 2 * (filters.last?.capacity ?? 0))))
        }
        let last = filters.count - 1
        for key in keys { filters[last].insert(Self.hash(key)) }
    }

    /// Whether `key` may have been inserted: always `true` when it was.
    public func mightContain(_ key: Key) -> Bool {
        guard !filters.isEmpty else { return false }
        let hash = Self.hash(key)
        return filters.contains { $0.contains(hash) }
    }

    /// A 64-bit hash of a key, mixed so that every bit varies (the block from the high half,
    /// the bits in it from the low).
    @inline(__always)
    static func hash(_ key: Key) -> UInt64 {
        SplitMix64.mix(UInt64(bitPattern: Int64(key.hashValue)))
    }
}
