import FirnObjectStore

extension AutoIngestPipe {
    /// How long one receive waits for a message: SQS's longest long poll, so an idle pipe sends
    /// three requests a minute. Cancelling the pipe ends the wait at once.
    static let eventWaitSeconds = 20

    /// How long received messages are held for their objects to be taken before they are left
    /// to SQS: shorter than SQS's default 30-second visibility timeout.
    static let eventHoldLimit = Duration.seconds(25)

    /// Follows the S3 event notifications on `queue` until cancelled: announces each created
    /// object under this bucket's prefix and deletes a message once all its objects are taken
    /// (loaded, skipped or recorded as failed).
    ///
    /// A message whose objects are not taken within ``eventHoldLimit`` (a download failed, the
    /// pipe is suspended, a load is long) is not deleted: SQS delivers it again after its
    /// visibility timeout, which retries it, and an object taken meanwhile is not taken twice.
    /// So a stop before loading loses nothing, even for a key the listing window no longer covers. A message that can
    /// never be handled (its object deleted since) comes back until the queue's retention ends;
    /// give the queue a redrive policy to move such messages to a dead-letter queue.
    ///
    /// Errors are logged and retried after a back-off that doubles from 1 to 30 seconds. Does
    /// nothing unless the store is an ``S3Bucket``.
    ///
    /// A long poll cut short by cancellation may still take a message on the server; that
    /// message is received again after the queue's visibility timeout (30 seconds by default),
    /// so an object reported just as the pipe stops waits that long, or for the next listing.
    func follow(_ queue: S3EventQueue) async {
        guard let bucket = store as? S3Bucket else {
            logger.error("the event queue \(queue.name) is ignored: \(store.location) is not an S3 bucket")
            return
        }
        var backoff = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                let started = ContinuousClock.now
                let messages = try await queue.receive(waitSeconds: Self.eventWaitSeconds)
                let objects = messages.map { $0.records.compactMap(bucket.objectInfo(for:)) }
                for object in objects.joined() { announce(object) }
                let deadline = ContinuousClock.now + Self.eventHoldLimit
                for (message, objects) in zip(messages, objects) {
                    while await !allTaken(objects) && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    if await allTaken(objects) { try await queue.delete(message) }
                }
                backoff = .seconds(1)
                // A server that answers at once instead of long-polling must not make this spin.
                if messages.isEmpty && ContinuousClock.now - started < .milliseconds(500) {
                    try await Task.sleep(for: .seconds(1))
                }
            } catch is CancellationError {
                return
            } catch {
                note(error: "event queue \(queue.name): \(error) (retrying in \(backoff))")
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    /// Whether every one of the objects was taken (one read); `false` when the warehouse
    /// cannot say.
    private func allTaken(_ objects: [ObjectInfo]) async -> Bool {
        guard let taken = try? await warehouse.takenPipeObjects(among: objects.map { ($0.key.rawValue, $0.etag) })
        else { return false }
        return objects.allSatisfy { taken.contains(Self.claimName($0)) }
    }
}
