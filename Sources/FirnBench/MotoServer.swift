import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An S3 endpoint for tests and `firn bench flow`: a `moto_server` process on `127.0.0.1`, or the server that
/// `FIRN_TEST_S3_ENDPOINT` names.
///
/// moto accepts any credentials and keeps its buckets in memory, so each test creates its own
/// bucket (`S3Bucket.createBucket()`) with made-up keys. ``sharedEndpoint()`` is what most tests
/// want; ``launch()`` gives a test its own server that it can ``stop()`` and ``start()`` again on
/// the same port, to see an endpoint go away and come back. A restarted moto is empty.
///
/// Every launched server runs under a small shell watchdog that stops it when the test process
/// exits, crashes included, so no server outlives the tests.
public actor MotoServer {
    /// The server's URL, `http://127.0.0.1:PORT`.
    public nonisolated let endpoint: URL
    /// The TCP port, the same across ``stop()`` and ``start()``.
    public nonisolated let port: Int
    private var watchdog: pid_t?
    private let logPath: String

    private init(port: Int) {
        self.port = port
        self.endpoint = URL(string: "http://127.0.0.1:\(port)")!
        self.logPath = FileManager.default.temporaryDirectory.appendingPathComponent("firn-moto-\(port).log").path
    }

    /// Starts a new `moto_server` on a free port and returns once it accepts connections.
    ///
    /// - Throws: ``MotoServerError`` when `moto_server` is missing or does not come up within
    ///   30 seconds.
    public static func launch() async throws -> MotoServer {
        let server = MotoServer(port: try freePort())
        try await server.start()
        return server
    }

    /// The endpoint for tests that need any S3 server: `FIRN_TEST_S3_ENDPOINT` when set,
    /// otherwise one `moto_server` launched at first use and shared by the whole test process.
    ///
    /// - Throws: ``MotoServerError`` as ``launch()`` does.
    public static func sharedEndpoint() async throws -> URL {
        if let given = ProcessInfo.processInfo.environment["FIRN_TEST_S3_ENDPOINT"], !given.isEmpty {
            guard let url = URL(string: given), url.host != nil else {
                throw MotoServerError("FIRN_TEST_S3_ENDPOINT=\(given) is not a URL such as http://127.0.0.1:5000")
            }
            return url
        }
        return try await shared.value.endpoint
    }

    private static let shared = Task { try await MotoServer.launch() }

    /// Whether the server process is running.
    public var isRunning: Bool {
        guard let watchdog else { return false }
        return Self.exitStatus(of: watchdog) == nil
    }

    /// Starts the server on ``port`` (again) and returns once it accepts connections; does
    /// nothing when it is running. A restarted server has no buckets.
    ///
    /// - Throws: ``MotoServerError`` when it does not come up within 30 seconds.
    public func start() async throws {
        if isRunning { return }
        // The shell starts moto and stops it when told to (SIGTERM) or when the test process
        // is gone, checking twice a second.
        let script = """
            command -v moto_server >/dev/null 2>&1 || exit 127
            moto_server -H 127.0.0.1 -p \(port) >"$1" 2>&1 &
            moto=$!
            trap 'kill $moto 2>/dev/null; wait $moto; exit 0' TERM INT HUP
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $moto 2>/dev/null; do sleep 0.5 & wait $!; done
            kill $moto 2>/dev/null
            wait $moto
            """
        let watchdog = try Self.spawn(["/bin/sh", "-c", script, "moto-watchdog", logPath])
        self.watchdog = watchdog
        let deadline = Date().addingTimeInterval(30)
        while !Self.accepts(port: port) {
            if let status = Self.exitStatus(of: watchdog) {
                self.watchdog = nil
                if status == 127 {
                    throw MotoServerError(
                        "moto_server is not installed: run scripts/test, or pip install 'moto[server]', "
                            + "or set FIRN_TEST_S3_ENDPOINT to a running S3 server"
                    )
                }
                throw MotoServerError("moto_server exited (status \(status)): \(logTail())")
            }
            if Date() > deadline {
                await stop()
                throw MotoServerError("moto_server did not listen on port \(port) within 30 s: \(logTail())")
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// Stops the server and returns once it has exited and its port refuses connections.
    /// Its buckets are lost.
    public func stop() async {
        guard let watchdog else { return }
        self.watchdog = nil
        // The watchdog leads its own process group: signal the group, moto included.
        kill(-watchdog, SIGTERM)
        var deadline = Date().addingTimeInterval(10)
        while Self.exitStatus(of: watchdog) == nil {
            if Date() > deadline {
                kill(-watchdog, SIGKILL)
                deadline = .distantFuture
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        let closed = Date().addingTimeInterval(10)
        while Self.accepts(port: port) && Date() < closed {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// Starts a program in a process group of its own, with no signals blocked or ignored
    /// (a child inherits the test runner's blocked signals otherwise, and could not be stopped),
    /// with standard input and output on `/dev/null` and no other descriptor of the parent.
    static func spawn(_ arguments: [String]) throws -> pid_t {
        #if canImport(Darwin)
        var attributes: posix_spawnattr_t? = nil
        var actions: posix_spawn_file_actions_t? = nil
        #else
        var attributes = posix_spawnattr_t()
        var actions = posix_spawn_file_actions_t()
        #endif
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)
        )
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Nothing else of the parent's: a pipe another thread made for a child of its own
        // would otherwise stay open in the server, and that child's reader never see its end.
        for descriptor in Self.openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw MotoServerError("cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// This process's open file descriptors (none where `/proc/self/fd` cannot be read).
    static func openDescriptors() -> [Int32] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return [] }
        // The listing's own descriptor is closed again by the time this returns.
        return names.compactMap(Int32.init).filter { fcntl($0, F_GETFD) != -1 }
    }

    /// The exit status of a child once it has exited (reaping it), `nil` while it runs.
    static func exitStatus(of pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return nil }
        if result < 0 { return -1 }  // not our child any more: already reaped
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    private func logTail() -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.isEmpty ? "(no output)" : String(text.suffix(800))
    }

    /// Whether something accepts TCP connections on `127.0.0.1:port`.
    static func accepts(port: Int) -> Bool {
        let socket = makeSocket()
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A TCP port that nothing listens on now, chosen by the kernel.
    public static func freePort() throws -> Int {
        let socket = makeSocket()
        guard socket >= 0 else { throw MotoServerError("socket: \(String(cString: strerror(errno)))") }
        defer { close(socket) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw MotoServerError("bind: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        guard named == 0 else { throw MotoServerError("getsockname: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func makeSocket() -> Int32 {
        #if canImport(Glibc)
        socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        socket(AF_INET, SOCK_STREAM, 0)
        #endif
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}

/// Why a test S3 server could not be provided; says what to install or set.
public struct MotoServerError: Error, CustomStringConvertible {
    /// What went wrong and what to do.
    public var description: String

    init(_ description: String) { self.description = description }
}
