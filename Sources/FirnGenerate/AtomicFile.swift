import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing a file so that no reader ever sees part of it: the bytes go to a hidden temporary
/// name in the same directory, are flushed to disk, and the file is renamed into place (an
/// atomic step on POSIX file systems), then the directory is flushed so the rename survives a
/// power loss.
enum AtomicFile {
    /// The hidden temporary name for `name`: `.customers-000042.csv.tmp`.
    static func temporaryName(for name: String) -> String { "." + name + ".tmp" }

    /// Creates (or truncates) `path`, writes `bytes`, flushes them to disk and closes it.
    static func writeDurably(_ bytes: [UInt8], to path: String) throws(GenerateError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .io(path: path, reason: "cannot create: \(lastError())") }
        var failure: GenerateError?
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = .io(path: path, reason: "write: \(lastError())")
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = .io(path: path, reason: "fsync: \(lastError())") }
        close(descriptor)
        if let failure {
            unlink(path)
            throw failure
        }
    }

    /// Renames `temporary` to `destination` (replacing it) and flushes the directory.
    static func publish(_ temporary: String, as destination: String) throws(GenerateError) {
        guard rename(temporary, destination) == 0 else {
            let reason = lastError()
            unlink(temporary)
            throw .io(path: destination, reason: "rename: \(reason)")
        }
        syncDirectory((destination as NSString).deletingLastPathComponent)
    }

    /// Writes `bytes` to `path` atomically through ``temporaryName(for:)`` beside it.
    static func store(_ bytes: [UInt8], at path: String) throws(GenerateError) {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temporary = (directory as NSString).appendingPathComponent(temporaryName(for: name))
        try writeDurably(bytes, to: temporary)
        try publish(temporary, as: path)
    }

    /// Creates `path` and its parents when missing.
    static func createDirectory(_ path: String) throws(GenerateError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .io(path: path, reason: "cannot create the directory: \(error.localizedDescription)")
        }
    }

    /// Flushes a directory's entries (a rename into it) to disk; best effort.
    static func syncDirectory(_ path: String) {
        let descriptor = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    /// Nanoseconds since the Unix epoch, from the system's real-time clock.
    static func wallClockNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// Runs blocking file-system work on a Dispatch thread, off the caller's executor.
    static func offload<T: Sendable>(
        _ work: @escaping @Sendable () throws(GenerateError) -> T
    ) async throws(GenerateError) -> T {
        let result: Result<T, GenerateError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(GenerateError) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
