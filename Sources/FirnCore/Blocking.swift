import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

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

/// Runs blocking work on a new thread of its own at the lowest scheduling priority (on Linux,
/// `nice` 19 for that thread alone), so that it takes mostly CPU time the rest of the process
/// leaves idle, and resumes the caller with its result. For work done ahead of need, such as
/// reading the next files while the current ones apply: on two cores, reading beside the
/// writer at the same priority slowed the writer by as much as it saved. The thread ends with
/// the work, so its priority never reaches other work.
public func runIdle<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread {
            #if os(Linux)
            // Linux keeps the nice value per thread: `who` 0 is the calling thread alone.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
            #endif
            continuation.resume(returning: work())
        }
        thread.start()
    }
}
