import FirnCore

/// A seeded generator for test cases (FirnCore's ``SplitMix64``), so every generated case can
/// be replayed from its seed, with the two helpers the property tests use.
public struct SeededGenerator: RandomNumberGenerator {
    private var base: SplitMix64

    public init(seed: UInt64) { base = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { base.next() }

    public mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }
    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
}
