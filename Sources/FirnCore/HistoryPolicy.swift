/// What a NULL attribute of an upsert means (config `null_updates`).
public enum NullUpdates: String, Sendable, Hashable, Codable, CaseIterable {
    /// The attribute becomes NULL, like any other value (the default).
    case apply
    /// The attribute keeps the value of the version in force: the record is a partial image
    /// (Databricks' `IGNORE NULL UPDATES`). With no version in force it stays NULL.
    case ignore
}

/// How an entity's upserts become versions, on top of DESIGN.md section 3's rules: which
/// attributes are tracked (`track_history`, `track_history_except`) and what a NULL means
/// (`null_updates`).
///
/// Walking a key's records in order, an upsert's attributes are first made whole: under
/// ``NullUpdates/ignore`` each NULL takes the value of the version in force. Then:
/// - equal to the version in force: nothing changes;
/// - different only in untracked attributes: the version in force takes the new values in
///   place (and so does the SCD1 row), no version opens;
/// - anything else: the version in force ends and a new one opens, as always.
///
/// History stays a pure function of the records. The ``standard`` policy (everything tracked,
/// NULLs applied) is the contract's plain rule.
public struct HistoryPolicy: Sendable, Hashable {
    /// Attribute positions whose changes update the version in force instead of opening one,
    /// ascending.
    public private(set) var untracked: [Int]
    /// What a NULL attribute of an upsert means.
    public var nullUpdates: NullUpdates

    /// Every attribute tracked, NULLs applied.
    public static let standard = HistoryPolicy()

    /// Creates a policy.
    ///
    /// - Parameters:
    ///   - untracked: Attribute positions (0-based) whose changes open no version.
    ///   - nullUpdates: What a NULL attribute of an upsert means.
    public init(untracked: some Sequence<Int> = [], nullUpdates: NullUpdates = .apply) {
        self.untracked = Set(untracked).sorted()
        self.nullUpdates = nullUpdates
    }

    /// `true` for the contract's plain rule.
    public var isStandard: Bool { untracked.isEmpty && nullUpdates == .apply }

    /// Whether a version can come to differ from the record that opened it: then that record
    /// is kept beside history (see ``SlowlyChangingHistory``), since the version alone no
    /// longer says what it was.
    public var updatesInPlace: Bool { !untracked.isEmpty }

    /// An upsert's attributes made whole over `inForce`, the attributes of the version in
    /// force (if any): under ``NullUpdates/ignore`` each NULL takes the value in force.
    @inlinable
    public func effective(_ attributes: [Value], over inForce: [Value]?) -> [Value] {
        guard nullUpdates == .ignore, let inForce, attributes.contains(where: \.isNull) else { return attributes }
        var merged = attributes
        for index in merged.indices where merged[index].isNull && index < inForce.count {
            merged[index] = inForce[index]
        }
        return merged
    }

    /// Whether `lhs` and `rhs` differ in untracked attributes only (they are assumed not
    /// equal): the change updates the version in force in place.
    @inlinable
    public func differsOnlyInUntracked(_ lhs: [Value], _ rhs: [Value]) -> Bool {
        guard !untracked.isEmpty, lhs.count == rhs.count else { return false }
        var next = 0
        for index in lhs.indices {
            if next < untracked.count, untracked[next] == index {
                next += 1
                continue
            }
            if lhs[index] != rhs[index] { return false }
        }
        return true
    }

    /// Whether `record`, which opened a version with `attributes`, is kept beside history:
    /// when the version may change in place, or its attributes are not the record's.
    @inlinable
    public func keepsOpening(_ record: ChangeRecord, as attributes: [Value]) -> Bool {
        !isStandard && (updatesInPlace || attributes != record.attributes)
    }
}
