/// The SCD rules of Firn's contract (DESIGN.md section 3), as pure functions.
///
/// History is a pure function of the records: for each key, take its records ordered by
/// event time, then arrival; where several share one event time only the last arrival counts.
/// Walk them in order: an upsert whose attributes equal (NULL-safely) those of the version in
/// force changes nothing; any other upsert opens a version at its time, ending the version in
/// force there; a delete closes the version in force and opens nothing (a no-op when none is
/// in force). SCD1 is the set of open versions. An entity's ``HistoryPolicy`` refines the
/// upsert rule (partial images, untracked attributes updated in place).
///
/// Both warehouses use ``reconcile(key:existing:records:from:policy:)``: given the stored
/// versions that a batch can affect and every record from the batch's earliest event time
/// on, it returns the exact rows to insert, update and delete. Storage differs per backend;
/// the rules live only here.
///
/// Besides history, a backend keeps the records that the versions alone do not reproduce
/// (``HistoryChanges/unchanged``): those that changed nothing, and under a policy those whose
/// attributes differ from the version they opened or updated. Those and the version
/// boundaries are every record that counts, so a key can be replayed without staging.
public enum SlowlyChangingHistory {
    /// Replays records over the state in force before them.
    ///
    /// - Parameters:
    ///   - prior: The version in force just before the first record (its ``Version/end`` is
    ///     ignored: it is reopened), or `nil` when none is in force.
    ///   - records: Records of one key, in any order; all must be after `prior.start`.
    /// - Returns: The versions from `prior` on, oldest first; the last is open unless the key
    ///   ends deleted.
    public static func replay(prior: Version?, records: [ChangeRecord], policy: HistoryPolicy = .standard) -> [Version] {
        replayKeepingUnchanged(prior: prior, records: records, policy: policy).versions
    }

    /// ``replay(prior:records:policy:)``, also returning the records the versions do not
    /// reproduce: an upsert equal to the version in force, a delete with none in force, and
    /// under `policy` an upsert whose attributes are not those of the version it opened (a
    /// partial image), every upsert that opened a version (when versions update in place) and
    /// every upsert that updated one in place.
    ///
    /// Together with the versions they determine every record that counts (of several at one
    /// event time, the last arrival): version starts are upserts, version ends that no version
    /// starts at are deletes (see ``countingRecords(of:from:)``); a kept record at a version's
    /// start counts instead of the version's own. A backend that stores them can replay a key from any time without
    /// keeping its staging rows indexed by key.
    public static func replayKeepingUnchanged(
        prior: Version?,
        records: [ChangeRecord],
        policy: HistoryPolicy = .standard
    ) -> (versions: [Version], unchanged: [ChangeRecord]) {
        var versions: [Version] = []
        var unchanged: [ChangeRecord] = []
        var current = prior.map { Version(key: $0.key, attributes: $0.attributes, start: $0.start, end: nil) }
        let ordered = records.sorted(by: ChangeRecord.scdOrder)
        var index = 0
        while index < ordered.count {
            // Of several records with one event time only the last arrival counts.
            var last = index
            while last + 1 < ordered.count, ordered[last + 1].eventTime == ordered[index].eventTime { last += 1 }
            let record = ordered[last]
            index = last + 1
            switch record.operation {
            case .upsert:
                let attributes = policy.effective(record.attributes, over: current?.attributes)
                if let open = current, open.attributes == attributes {
                    unchanged.append(record)
                    continue
                }
                if let open = current, policy.differsOnlyInUntracked(open.attributes, attributes) {
                    current?.attributes = attributes
                    unchanged.append(record)
                    continue
                }
                if var open = current {
                    open.end = record.eventTime
                    versions.append(open)
                }
                current = Version(key: record.key, attributes: attributes, start: record.eventTime, end: nil)
                if policy.keepsOpening(record, as: attributes) { unchanged.append(record) }
            case .delete:
                if var open = current {
                    open.end = record.eventTime
                    versions.append(open)
                    current = nil
                } else {
                    unchanged.append(record)
                }
            }
        }
        if let open = current { versions.append(open) }
        return (versions, unchanged)
    }

    /// The records that made stored versions, at or after `from`: an upsert at each version
    /// start, and a delete at each version end that no version starts at. Where a kept record
    /// (``HistoryChanges/unchanged``) has the same event time it counts instead, being a
    /// later arrival.
    ///
    /// With the stored unchanged records (``HistoryChanges/unchanged``) these are every record
    /// of the key that counts from `from` on. They arrive before anything new (arrival 0, 0),
    /// which is right: a new record at the same event time is a later arrival and wins.
    ///
    /// - Parameters:
    ///   - versions: The key's stored versions ending at or after `from` (or open), oldest first.
    ///   - from: The earliest event time of interest.
    public static func countingRecords(of versions: [Version], from: Timestamp) -> [ChangeRecord] {
        var records: [ChangeRecord] = []
        let starts = Set(versions.map(\.start))
        let first = Arrival(load: 0, row: 0)
        for version in versions {
            if version.start >= from {
                records.append(
                    ChangeRecord(
                        key: version.key,
                        eventTime: version.start,
                        operation: .upsert,
                        attributes: version.attributes,
                        arrival: first
                    )
                )
            }
            if let end = version.end, end >= from, !starts.contains(end) {
                records.append(
                    ChangeRecord(
                        key: version.key,
                        eventTime: end,
                        operation: .delete,
                        attributes: version.attributes,
                        arrival: first
                    )
                )
            }
        }
        return records
    }

    /// Computes the stored-row changes that bring one key's history and SCD1 row up to date.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - existing: The key's stored versions that end at or after `from` or are open, oldest
    ///     first. At most the first starts before `from` (the version in force just before it).
    ///   - records: Every record of the key with event time at or after `from`: the new ones
    ///     and those already loaded (records that changed nothing count too).
    ///   - from: The earliest event time among the new records. When versions update in place
    ///     (``HistoryPolicy/updatesInPlace``), a version's stored attributes are its latest, not
    ///     those in force at `from`: then `from` must be the start of a version, or precede
    ///     every version of the key (see `BatchPlan.replayStart`).
    ///   - policy: The entity's policy.
    /// - Returns: Versions to insert, update (matched by key and start) and delete, and the
    ///   change to the SCD1 row.
    public static func reconcile(
        key: Key,
        existing: [Version],
        records: [ChangeRecord],
        from: Timestamp,
        policy: HistoryPolicy
    ) -> HistoryChanges {
        if records.count == 1, existing.count <= 1, existing.first.map({ $0.isCurrent && $0.start < from }) != false {
            return reconcileOne(key: key, open: existing.first, record: records[0], policy: policy)
        }
        let prior = existing.first.flatMap { $0.start < from ? $0 : nil }
        let (rebuilt, unchanged) = replayKeepingUnchanged(prior: prior, records: records, policy: policy)
        var changes = HistoryChanges(key: key)
        changes.unchanged = unchanged
        changes.open = rebuilt.last.flatMap { $0.isCurrent ? $0 : nil }
        // Match rebuilt versions to stored ones by start. Keys usually have one or two versions
        // in play, where a linear scan beats hashing; long histories get an index.
        var matched = [Bool](repeating: false, count: existing.count)
        let byStart: [Timestamp: Int]? =
            existing.count > 32
            ? Dictionary(existing.enumerated().map { ($1.start, $0) }, uniquingKeysWith: { first, _ in first }) : nil
        for version in rebuilt {
            let found = byStart.map { $0[version.start] } ?? existing.firstIndex(where: { $0.start == version.start })
            if let index = found {
                matched[index] = true
                let old = existing[index]
                if old != version {
                    if old.attributes == version.attributes {
                        changes.ended.append(version)
                    } else {
                        changes.updated.append(version)
                    }
                    if old.end == nil && version.end != nil { changes.closedCount += 1 }
                }
            } else {
                changes.inserted.append(version)
                if version.end != nil { changes.closedCount += 1 }
            }
        }
        for (index, version) in existing.enumerated() where !matched[index] { changes.deleted.append(version) }
        let oldOpen = existing.last.flatMap { $0.isCurrent ? $0 : nil }
        let newOpen = rebuilt.last.flatMap { $0.isCurrent ? $0 : nil }
        if oldOpen != newOpen {
            changes.current = newOpen.map(CurrentChange.upsert) ?? .delete(key)
        }
        return changes
    }
}

extension SlowlyChangingHistory {
    /// ``reconcile(key:existing:records:from:policy:)`` for the most common case, one new
    /// record after the key's open version (or after none), without the general replay's
    /// intermediate arrays. The same rules, spelled out: the property tests hold both to the
    /// reference model.
    public static func reconcileOne(
        key: Key,
        open: Version?,
        record: ChangeRecord,
        policy: HistoryPolicy
    ) -> HistoryChanges {
        var changes = HistoryChanges(key: key)
        switch (record.operation, open) {
        case (.upsert, let open?) where open.attributes == record.attributes:
            changes.unchanged = [record]
            changes.open = open
        case (.upsert, let open):
            let attributes = policy.isStandard ? record.attributes : policy.effective(record.attributes, over: open?.attributes)
            if !policy.isStandard, var updated = open,
                updated.attributes == attributes || policy.differsOnlyInUntracked(updated.attributes, attributes)
            {
                // Nothing changes, or untracked attributes only: the open version in place.
                changes.unchanged = [record]
                if updated.attributes != attributes {
                    updated.attributes = attributes
                    changes.updated = [updated]
                    changes.current = .upsert(updated)
                }
                changes.open = updated
                return changes
            }
            let opened = Version(key: key, attributes: attributes, start: record.eventTime, end: nil)
            if var closed = open {
                closed.end = record.eventTime
                changes.ended = [closed]
                changes.closedCount = 1
            }
            changes.inserted = [opened]
            changes.open = opened
            changes.current = .upsert(opened)
            if policy.keepsOpening(record, as: attributes) { changes.unchanged = [record] }
        case (.delete, var closed?):
            closed.end = record.eventTime
            changes.ended = [closed]
            changes.closedCount = 1
            changes.current = .delete(key)
        case (.delete, nil):
            changes.unchanged = [record]
        }
        return changes
    }
}

/// The change a batch makes to one key's SCD1 row.
public enum CurrentChange: Sendable, Hashable {
    /// The row stays as it is.
    case unchanged
    /// The row becomes this open version (inserted if the key was not live).
    case upsert(Version)
    /// The key is no longer live: its row goes.
    case delete(Key)
}

/// Stored-row changes for one key, from ``SlowlyChangingHistory/reconcile(key:existing:records:from:policy:)``.
public struct HistoryChanges: Sendable, Hashable {
    /// The key these changes are for.
    public var key: Key
    /// The key's open version after the changes (its SCD1 row), or `nil` when it is not live.
    public var open: Version?
    /// New versions (history rows to insert).
    public var inserted: [Version] = []
    /// Stored versions whose attributes change (and maybe their end), matched by key and start.
    public var updated: [Version] = []
    /// Stored versions whose end alone changes (closed, reopened or ended elsewhere), matched by
    /// key and start: the common case, which keeps the stored attributes.
    public var ended: [Version] = []
    /// Stored versions that no longer exist (superseded by a later arrival at the same time).
    public var deleted: [Version] = []
    /// The SCD1 row's change.
    public var current: CurrentChange = .unchanged
    /// Every record from `from` on that the versions do not reproduce (replacing any stored
    /// before for that span), so that later replays can be rebuilt without staging: those
    /// that changed nothing and, under a ``HistoryPolicy``, those whose attributes differ from
    /// the version they opened or updated.
    public var unchanged: [ChangeRecord] = []
    /// How many versions went from open to closed, or were written already closed.
    public var closedCount = 0

    /// Creates an empty change set for a key.
    public init(key: Key) {
        self.key = key
    }

    /// `true` when nothing changes.
    public var isEmpty: Bool {
        inserted.isEmpty && updated.isEmpty && ended.isEmpty && deleted.isEmpty && current == .unchanged
    }
}
