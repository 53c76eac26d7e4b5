import FirnCore
import FirnWarehouse
import Foundation
import Logging

/// This process's hold on the warehouse's `scheduler` lease: taken when free or expired,
/// renewed every third of its duration, given up at shutdown.
///
/// Holding it is what lets a scheduler start runs (see ``TaskScheduler``). When this process
/// takes it over from another, runs that one left `running` are marked failed first (its
/// process died, or lost the lease while stalled).
actor SchedulerLease {
    static let name = "scheduler"
    let warehouse: any Warehouse
    let duration: Duration
    /// This process (its ``WorkerIdentity``: a restarted process is a new holder).
    let holder: String
    private var validUntil: ContinuousClock.Instant?
    private var renewedAt: ContinuousClock.Instant?

    init(warehouse: any Warehouse, duration: Duration, holder: String) {
        self.warehouse = warehouse
        self.duration = duration
        self.holder = holder
    }

    /// Whether this process holds the lease now, renewing or taking it when due.
    func isHeld() async -> Bool {
        let now = ContinuousClock.now
        if let renewedAt, let validUntil, now - renewedAt < duration / 3, now < validUntil { return true }
        guard let held = try? await warehouse.acquireLease(Self.name, holder: holder, seconds: duration.seconds) else {
            // The warehouse cannot say: keep acting on what is known, until it expires.
            return validUntil.map { now < $0 } ?? false
        }
        if held {
            if validUntil == nil { try? await warehouse.abandonUnfinishedTaskRuns() }
            validUntil = now + duration
            renewedAt = now
        } else {
            validUntil = nil
            renewedAt = nil
        }
        return held
    }

    /// Gives the lease up, so another process takes over at once.
    func release() async {
        guard validUntil != nil else { return }
        validUntil = nil
        try? await warehouse.releaseLease(Self.name, holder: holder)
    }
}
