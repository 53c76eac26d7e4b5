import FirnCore

/// The ids of the customers alive now, for picking one uniformly at random in O(1) and
/// removing one in O(1).
///
/// Ids are `1, 2, 3, …` in creation order (``insertNext()``). The order of ``ids`` is part of
/// the workloads' determinism: a removal moves the last id into the removed one's place.
public struct LiveCustomers: Sendable, Hashable {
    /// The live ids, in no particular order.
    public private(set) var ids: [Int64] = []
    /// Per id (index = id - 1): its index in ``ids``, or -1 once removed.
    private var positions: [Int32] = []

    /// No customers.
    public init() {}

    /// How many customers are alive.
    public var count: Int { ids.count }

    /// Whether nobody is alive.
    public var isEmpty: Bool { ids.isEmpty }

    /// The number of ids ever created (the largest id).
    public var createdCount: Int { positions.count }

    /// Whether `id` is alive.
    public func contains(_ id: Int64) -> Bool { id >= 1 && id <= positions.count && positions[Int(id - 1)] >= 0 }

    /// Creates the next id (one more than ``createdCount``), alive.
    ///
    /// - Returns: The new id.
    @discardableResult
    public mutating func insertNext() -> Int64 {
        let id = Int64(positions.count + 1)
        positions.append(Int32(ids.count))
        ids.append(id)
        return id
    }

    /// A live id drawn uniformly (one draw from `random`); the set must not be empty.
    public func randomID(using random: inout SplitMix64) -> Int64 {
        ids[random.below(ids.count)]
    }

    /// Ends `id`, which must be alive: the last id takes its place in ``ids``.
    public mutating func remove(_ id: Int64) {
        let index = Int(id - 1)
        let position = Int(positions[index])
        let moved = ids.removeLast()
        if position < ids.count {
            ids[position] = moved
            positions[Int(moved - 1)] = Int32(position)
        }
        positions[index] = -1
    }
}
