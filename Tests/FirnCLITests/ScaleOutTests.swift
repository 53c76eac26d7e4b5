import Foundation
import Testing

/// Several `firn pipe` workers on one PostgreSQL schema and one bucket, fed by `firn ingest`
/// while the test lands files: one worker killed with SIGKILL mid-run, a fourth started later,
/// and a server restarted under a running pipe. Each ends with every object loaded exactly
/// once and the tables equal to a single `firn load` of the same files.
@MainActor @Suite(.serialized) struct ScaleOutTests {
    /// The test run's server (`FIRN_TEST_POSTGRES_URL`), else one started for this suite.
    static func serverURL(_ work: URL) throws -> (url: String, stop: () -> Void) {
        if let url = ProcessInfo.processInfo.environment["FIRN_TEST_POSTGRES_URL"], !url.isEmpty {
            return (url.components(separatedBy: "?")[0], {})
        }
        let directory = work.appendingPathComponent("pg").path
        return (try PostgresCommandTests.start(directory), { PostgresCommandTests.stop(directory) })
    }

    static func warehouse(_ url: String, schema: String) -> String {
        url + "?sslmode=disable&schema=" + schema
    }

    static func value(_ warehouse: String, _ sql: String) throws -> String {
        try FirnProcess.value(["--warehouse", warehouse], sql)
    }

    static func tables(_ warehouse: String) throws -> [String] {
        try FirnProcess.tables(["--warehouse", warehouse])
    }

    /// Starts `firn pipe` on the shared bucket, in a data directory of its own.
    /// A `firn pipe` worker; what it writes to standard error goes to `data`/stderr.log
    /// (``errors(of:)``), so that a worker that ends badly says why.
    static func startPipe(_ warehouse: String, bucket: URL, data: URL, config: URL) throws -> Process {
        let process = Process()
        process.executableURL = FirnProcess.executable
        process.arguments = [
            "pipe", "--warehouse", warehouse, "--bucket", "file:" + bucket.path, "--data-dir", data.path,
            "--config", config.path, "--status-interval", "1",
        ]
        process.standardOutput = FileHandle.nullDevice
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let log = data.appendingPathComponent("stderr.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        return process
    }

    /// The last lines a worker started by ``startPipe(_:bucket:data:config:)`` wrote to
    /// standard error.
    static func errors(of data: URL) -> String {
        let text = (try? String(contentsOf: data.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(8).joined(separator: "\n")
    }

    static func startIngest(_ data: URL, config: URL) throws -> Process {
        let process = Process()
        process.executableURL = FirnProcess.executable
        process.arguments = ["ingest", "--data-dir", data.path, "--config", config.path, "--status-interval", "1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits until `sql` answers `value`; returns the answer last seen. A query that fails
    /// (before the first worker made the warehouse, or while the server restarts) is asked
    /// again.
    static func waitFor(_ warehouse: String, _ sql: String, _ value: String, seconds: Double) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var answer = ""
        while Date() < deadline {
            let output = try FirnProcess.run(["query", "--warehouse", warehouse, "--format", "csv", sql])
            let lines = output.stdout.split(whereSeparator: \.isNewline)
            answer = output.status == 0 && lines.count == 2 ? String(lines[1]) : ""
            if answer == value { break }
            usleep(250_000)
        }
        return answer
    }

    /// Waits until `count` loads are recorded as loaded; returns the count last seen.
    static func waitForLoads(_ warehouse: String, count: Int, seconds: Double) throws -> String {
        try waitFor(warehouse, "SELECT count(*) FROM firn_loads WHERE status = 'loaded'", "\(count)", seconds: seconds)
    }

    /// Writes the change files and a config of 100-row chunks (so kills fall inside files), and
    /// loads the files with one `firn load` into `reference`.
    static func prepare(
        _ work: URL,
        files count: Int,
        rows: Int,
        keys: Int,
        seed: UInt64,
        reference: String
    ) throws -> ([URL], URL) {
        let source = work.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        let files = try RunCommandTests.writeFiles(to: source, files: count, rows: rows, keys: keys, seed: seed)
        let config = work.appendingPathComponent("firn.yaml")
        try "reader:\n  chunk_rows: 100\n".write(to: config, atomically: true, encoding: .utf8)
        let load = try FirnProcess.run(
            ["load", "--warehouse", reference, "--data-dir", work.appendingPathComponent("single").path]
                + files.map(\.path),
            seconds: 600
        )
        try #require(load.status == 0, "\(load.stderr)")
        return (files, config)
    }

    static func stop(_ process: Process) {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    @Test func threeWorkersOneKilledAFourthLaterLoadEachObjectOnce() throws {
        let work = try FirnProcess.temporaryDirectory("scale")
        let (url, stopServer) = try Self.serverURL(work)
        defer {
            stopServer()
            FirnProcess.remove(work)
        }
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let shared = Self.warehouse(url, schema: "scale_\(suffix)")
        let reference = Self.warehouse(url, schema: "single_\(suffix)")
        let (files, config) = try Self.prepare(work, files: 18, rows: 400, keys: 600, seed: 23, reference: reference)

        let ingestData = work.appendingPathComponent("ingest")
        let landing = ingestData.appendingPathComponent("landing")
        let bucket = ingestData.appendingPathComponent("bucket")
        try FileManager.default.createDirectory(at: landing, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: bucket, withIntermediateDirectories: true)
        let ingest = try Self.startIngest(ingestData, config: config)
        var workers = try (1...3).map { index in
            try Self.startPipe(shared, bucket: bucket, data: work.appendingPathComponent("w\(index)"), config: config)
        }
        var generator = SystemRandomNumberGenerator()
        for (index, file) in files.enumerated() {
            try RunCommandTests.land(file, in: landing)
            usleep(UInt32.random(in: 50_000...250_000, using: &generator))
            if index == 6 {
                kill(workers[1].processIdentifier, SIGKILL)
                workers[1].waitUntilExit()
            }
            if index == 11 {
                // The first workers stall (SIGSTOP, as a long pause would) once what landed so
                // far is loaded and recorded, so the fourth surely takes the files that follow.
                _ = try Self.waitForLoads(shared, count: index + 1, seconds: 120)
                _ = try Self.waitFor(
                    shared,
                    "SELECT count(*) FROM firn_pipe_objects WHERE status IN ('loaded', 'skipped')",
                    "\(index + 1)",
                    seconds: 60
                )
                for (other, worker) in workers.enumerated() where other != 1 { kill(worker.processIdentifier, SIGSTOP) }
                workers.append(
                    try Self.startPipe(shared, bucket: bucket, data: work.appendingPathComponent("w4"), config: config)
                )
            }
        }
        let loaded = try Self.waitForLoads(shared, count: files.count, seconds: 300)
        for (index, worker) in workers.enumerated() where index != 1 && index != 3 {
            kill(worker.processIdentifier, SIGCONT)
        }
        // Heartbeats come every 5 s: wait for one after the last load, then see who loaded.
        // Files 7 to 11 landed while only the first and third ran, 12 to 17 while only the
        // fourth did.
        sleep(6)
        func objects(_ indices: [Int]) throws -> Int {
            let pids = indices.map { "\(workers[$0].processIdentifier)" }.joined(separator: ", ")
            return Int(
                try Self.value(
                    shared,
                    "SELECT coalesce(sum(objects_loaded), 0) FROM firn_workers WHERE pid IN (\(pids))"
                )
            ) ?? 0
        }
        let early = try objects([0, 2])
        let late = try objects([3])
        Self.stop(ingest)
        for (index, worker) in workers.enumerated() where index != 1 {
            Self.stop(worker)
            #expect(
                worker.terminationReason == .exit && worker.terminationStatus == 0,
                """
                worker \(index + 1) exits cleanly (status \(worker.terminationStatus)); its last lines:
                \(Self.errors(of: work.appendingPathComponent("w\(index + 1)")))
                """
            )
        }
        #expect(loaded == "\(files.count)", "all files loaded")
        #expect(early >= 5, "the first and third workers loaded \(early) objects")
        #expect(late >= 1, "the fourth worker loaded \(late) objects")
        #expect(try Self.tables(shared) == (try Self.tables(reference)))
        #expect(
            try Self.value(shared, "SELECT count(*) || ' ' || count(DISTINCT file_name) FROM firn_loads") == "18 18",
            "no file loaded twice"
        )
        // Each object taken once, with the load that loaded it. A worker killed after its load
        // committed but before it recorded the object leaves it to another worker, which finds
        // the content loaded and records the object as skipped, with that load (see
        // AutoIngestPipe.load).
        #expect(
            try Self.value(
                shared,
                """
                SELECT count(*) || ' ' || count(DISTINCT o.object_key) FROM firn_pipe_objects o
                JOIN firn_loads l ON l.load_id = o.load_id AND l.file_name = o.object_key AND l.status = 'loaded'
                WHERE o.status IN ('loaded', 'skipped')
                """
            ) == "18 18",
            "each object taken once, with its load"
        )
        #expect(try Self.value(shared, "SELECT count(*) FROM firn_pipe_objects") == "18")
    }

    @Test func aServerRestartedUnderARunningPipeDelaysButLosesAndDoublesNothing() throws {
        let work = try FirnProcess.temporaryDirectory("restart")
        let server = work.appendingPathComponent("pg").path
        defer {
            PostgresCommandTests.stop(server)
            FirnProcess.remove(work)
        }
        let url = try PostgresCommandTests.start(server)
        let shared = Self.warehouse(url, schema: "restart")
        let reference = Self.warehouse(url, schema: "single")
        let (files, config) = try Self.prepare(work, files: 10, rows: 300, keys: 500, seed: 29, reference: reference)
        let bucket = work.appendingPathComponent("bucket")
        try FileManager.default.createDirectory(at: bucket, withIntermediateDirectories: true)
        let pipe = try Self.startPipe(shared, bucket: bucket, data: work.appendingPathComponent("w"), config: config)
        let ingestData = work.appendingPathComponent("ingest")
        let landing = ingestData.appendingPathComponent("landing")
        try FileManager.default.createDirectory(at: landing, withIntermediateDirectories: true)
        // Ingest uploads into the pipe's bucket; it does not use the warehouse.
        let ingest = Process()
        ingest.executableURL = FirnProcess.executable
        ingest.arguments = [
            "ingest", "--data-dir", ingestData.path, "--bucket", "file:" + bucket.path, "--config", config.path,
        ]
        ingest.standardOutput = FileHandle.nullDevice
        ingest.standardError = FileHandle.nullDevice
        try ingest.run()
        for (index, file) in files.enumerated() {
            try RunCommandTests.land(file, in: landing)
            usleep(150_000)
            if index == 4 {
                PostgresCommandTests.stop(server)
                sleep(3)
                _ = try PostgresCommandTests.start(server)
            }
        }
        let loaded = try Self.waitForLoads(shared, count: files.count, seconds: 240)
        Self.stop(ingest)
        Self.stop(pipe)
        #expect(
            pipe.terminationReason == .exit && pipe.terminationStatus == 0,
            "the pipe exits cleanly (status \(pipe.terminationStatus)); its last lines:\n\(Self.errors(of: work.appendingPathComponent("w")))"
        )
        #expect(loaded == "\(files.count)", "all files loaded after the restart")
        #expect(try Self.tables(shared) == (try Self.tables(reference)))
        #expect(
            try Self.value(
                shared,
                "SELECT count(*) || ' ' || count(DISTINCT file_name) FROM firn_loads WHERE status = 'loaded'"
            )
                == "10 10",
            "no file loaded twice"
        )
    }
}
