#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time, for saying what share of a process's CPU a part of it used.
public enum ThreadCPUTime {
    /// The calling thread's CPU time so far, in seconds (`CLOCK_THREAD_CPUTIME_ID`). Only a
    /// difference taken on one thread, with no suspension point between, means anything.
    public static func seconds() -> Double {
        var time = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0 else { return 0 }
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Runs `work` and returns its result with the CPU seconds the calling thread spent in it
    /// (synchronous work only: nothing in it suspends).
    public static func measuring<T, E: Error>(_ work: () throws(E) -> T) throws(E) -> (T, seconds: Double) {
        let before = seconds()
        let result = try work()
        return (result, seconds() - before)
    }

    /// The whole process's CPU time so far (user and system, every thread), in seconds.
    public static func processSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        func seconds(_ value: timeval) -> Double { Double(value.tv_sec) + Double(value.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
