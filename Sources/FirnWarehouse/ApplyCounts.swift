/// Where a batch's time went, in seconds.
public struct ApplyTimings: Sendable {
    /// Grouping and sorting the batch in memory (on a second thread while the writer stages;
    /// counted here and not in ``stage``, so that the phases still add up to the batch).
    public var group = 0.0
    /// Probing keys whose state the writer did not remember.
    public var probe = 0.0
    /// Inserting the records into staging, and waiting for the second thread's grouping and
    /// reconciling of remembered keys when it takes longer.
    public var stage = 0.0
    /// Reconciling each key and writing history and SCD1.
    public var write = 0.0
    /// Committing (WAL write and fsync), measured by the caller around the commit.
    public var commit = 0.0

    /// Zero timings.
    public init() {}
}

/// What applying a batch of records did.
public struct ApplyCounts: Sendable, Hashable {
    /// Records written to staging.
    public var staged = 0
    /// History versions inserted.
    public var versionsOpened = 0
    /// History versions closed (open → closed, or inserted closed).
    public var versionsClosed = 0
    /// History versions removed (superseded by a later arrival at the same event time).
    public var versionsRemoved = 0
    /// SCD1 rows inserted or updated.
    public var currentUpserted = 0
    /// SCD1 rows deleted.
    public var currentDeleted = 0
    /// Keys whose records arrived in event-time order (no recomputation of stored history).
    public var inOrderKeys = 0
    /// Keys with late or same-time records, whose history was recomputed from staging.
    public var recomputedKeys = 0
    /// Keys whose state came from the writer's memory instead of the database.
    public var cachedKeys = 0
    /// Records that arrived after a record of their key with a later event time (``LateRecord``).
    public var lateRecords = 0
    /// Keys whose state the writer read all at once before the batch (a warm-up of its
    /// remembered key states; see ``KeyStateCache``). How the writer worked, not an outcome:
    /// it takes no part in equality.
    public var warmedKeys = 0
    /// Where the time went. Measurements, not outcomes: they take no part in equality.
    public var timings = ApplyTimings()

    /// Creates zero counts.
    public init() {}

    /// Equal when the outcomes are equal; ``timings`` do not count.
    public static func == (lhs: ApplyCounts, rhs: ApplyCounts) -> Bool {
        (lhs.staged, lhs.versionsOpened, lhs.versionsClosed, lhs.versionsRemoved, lhs.currentUpserted)
            == (rhs.staged, rhs.versionsOpened, rhs.versionsClosed, rhs.versionsRemoved, rhs.currentUpserted)
            && (lhs.currentDeleted, lhs.inOrderKeys, lhs.recomputedKeys, lhs.cachedKeys, lhs.lateRecords)
                == (rhs.currentDeleted, rhs.inOrderKeys, rhs.recomputedKeys, rhs.cachedKeys, rhs.lateRecords)
    }

    public func hash(into hasher: inout Hasher) {
        for value in [
            staged, versionsOpened, versionsClosed, versionsRemoved, currentUpserted, currentDeleted, inOrderKeys,
            recomputedKeys, cachedKeys, lateRecords,
        ] {
            hasher.combine(value)
        }
    }

    /// Adds another batch's counts.
    public static func += (lhs: inout ApplyCounts, rhs: ApplyCounts) {
        lhs.staged += rhs.staged
        lhs.versionsOpened += rhs.versionsOpened
        lhs.versionsClosed += rhs.versionsClosed
        lhs.versionsRemoved += rhs.versionsRemoved
        lhs.currentUpserted += rhs.currentUpserted
        lhs.currentDeleted += rhs.currentDeleted
        lhs.inOrderKeys += rhs.inOrderKeys
        lhs.recomputedKeys += rhs.recomputedKeys
        lhs.cachedKeys += rhs.cachedKeys
        lhs.warmedKeys += rhs.warmedKeys
        lhs.lateRecords += rhs.lateRecords
        lhs.timings.group += rhs.timings.group
        lhs.timings.probe += rhs.timings.probe
        lhs.timings.stage += rhs.timings.stage
        lhs.timings.write += rhs.timings.write
        lhs.timings.commit += rhs.timings.commit
    }
}
