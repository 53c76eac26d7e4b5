import Dispatch

/// Runs blocking work (file or database calls) on a GCD thread, off Swift's cooperative pool,
/// and resumes the caller with its result.
///
/// The cooperative pool has one thread per core; a call that blocks one of them stalls every
/// task waiting for it. Cancelling the caller does not interrupt `work`: it runs to its end.
///
/// - Parameter work: The blocking work; it may throw only `E`.
/// - Returns: What `work` returned.
/// - Throws: What `work` threw.
public func runBlocking<T: Sendable, E: Error>(
    _ work: @escaping @Sendable () throws(E) -> T
) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(returning: Result { () throws(E) -> T in try work() })
        }
    }
    return try result.get()
}
