import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Announces files as they appear complete in the landing directory.
///
/// On Linux it uses inotify: a name renamed into the directory (`IN_MOVED_TO`) is announced at
/// once, so a well-behaved writer (write a temporary name, then rename) costs no waiting. A file
/// written in place is not announced (a writer may close and reopen it); the rescan takes it
/// once it has stopped changing. Elsewhere, or when inotify is unavailable, it announces
/// nothing and the ingest's periodic rescan finds files instead. An event queue overflow is
/// announced as `nil` (rescan now).
struct LandingWatcher: Sendable {
    let directory: String

    /// Calls `announce` for each complete file name, as the file system holds it (or `nil`
    /// after an overflow), until the calling task is cancelled. Blocking reads happen on a
    /// dedicated thread.
    func run(_ announce: @escaping @Sendable (LandingName?) -> Void) async throws(IngestError) {
        #if os(Linux)
        let descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0 else {
            throw .landing(path: directory, reason: "inotify_init1: \(String(cString: strerror(errno)))")
        }
        let mask = UInt32(IN_MOVED_TO)
        guard inotify_add_watch(descriptor, directory, mask) >= 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw .landing(path: directory, reason: "cannot watch: \(reason)")
        }
        let stopped = NIOLockedValueBox(false)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    Self.readEvents(descriptor, stopped: stopped, announce: announce)
                    close(descriptor)
                    continuation.resume()
                }
                thread.name = "firn-landing-watcher"
                thread.start()
            }
        } onCancel: {
            stopped.withLockedValue { $0 = true }
        }
        #else
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        #endif
    }

    #if os(Linux)
    /// Polls the inotify descriptor (100 ms at a time, so a stop is noticed promptly) and parses events.
    static func readEvents(
        _ descriptor: Int32,
        stopped: NIOLockedValueBox<Bool>,
        announce: @Sendable (LandingName?) -> Void
    ) {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while !stopped.withLockedValue({ $0 }) {
            let ready = poll(&poller, 1, 100)
            guard ready > 0 else { continue }
            let count = read(descriptor, buffer, size)
            guard count > 0 else { continue }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameLength = Int(event.len)
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    announce(nil)
                } else if nameLength > 0 {
                    // The name's bytes, NUL-padded: not necessarily UTF-8.
                    let name = UnsafeRawBufferPointer(
                        start: buffer.advanced(by: offset + MemoryLayout<inotify_event>.size),
                        count: nameLength
                    )
                    announce(LandingName(bytes: Array(name.prefix { $0 != 0 })))
                }
                offset += MemoryLayout<inotify_event>.size + nameLength
            }
        }
    }
    #endif
}
