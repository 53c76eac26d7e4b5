import FirnObjectStore

extension AutoIngestPipe {
    /// How long one receive waits for a message: SQS's longest long poll, so an idle pipe sends
    /// three requests a minute. Cancelling the pipe ends the wait at once.
    static let eventWaitSeconds = 20

    /// Follows the S3 event notifications on `queue` until cancelled: announces each created
    /// object under this bucket's prefix, then deletes the message.
    ///
    /// Deleting before the object is loaded is safe: should the process stop first, the bucket
    /// listing finds the object. Errors are logged and retried after a back-off that doubles
    /// from 1 to 30 seconds. Does nothing unless the store is an ``S3Bucket``.
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
                for message in messages {
                    for object in message.records.compactMap(bucket.objectInfo(for:)) { announce(object) }
                    try await queue.delete(message)
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
}
