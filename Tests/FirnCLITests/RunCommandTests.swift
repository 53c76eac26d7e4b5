import FirnCore
import Foundation
import Testing

/// `firn run` end to end: files renamed into the landing directory reach SCD1 and SCD2, and a
/// run killed with SIGKILL at random moments under load, then restarted, ends equal to
/// `firn load` of the same files in order.
@MainActor @Suite(.serialized) struct RunCommandTests {
    /// Change files whose event times are distinct across all files (so any load order gives
    /// the same tables), with updates, deletes, late records, NULLs, quotes and unicode.
    static func writeFiles(to directory: URL, files: Int, rows: Int, keys: Int, seed: UInt64) throws -> [URL] {
        var random = SplitMix64(seed: seed)
        let cities = ["London", "\"Quoted\" Town", "München", "東京", "Comma, City", ""]
        var urls: [URL] = []
        for file in 0..<files {
            var text = "customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op\n"
            for row in 0..<rows {
                let global = file * rows + row
                let key = Int(random.next() % UInt64(keys)) + 1
                var seconds = global
                if random.next() % 10 == 0 { seconds -= Int(random.next() % 3600) }
                // Whole seconds plus the row's own microseconds: no two records share a time.
                let time = Timestamp(microseconds: 1_790_000_000_000_000 + Int64(seconds) * 1_000_000 + Int64(global))
                let op = random.next() % 20 == 0 ? "D" : "U"
                let city = cities[Int(random.next() % UInt64(cities.count))]
                let quoted = city.isEmpty ? "" : "\"" + city.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                text += "\(key),First\(key),Last\(random.next() % 4),c\(key)@example.com,\(row) Main St,"
                text += "\(quoted),,Country,\(time),\(op)\n"
            }
            let url = directory.appendingPathComponent(String(format: "changes-%03d.csv", file))
            try text.write(to: url, atomically: true, encoding: .utf8)
            urls.append(url)
        }
        return urls
    }

    static func query(_ dir: URL, _ sql: String) throws -> String {
        try FirnProcess.csv(["--data-dir", dir.path], sql)
    }

    /// The single value a one-row, one-column query returns.
    static func value(_ dir: URL, _ sql: String) throws -> String {
        try FirnProcess.value(["--data-dir", dir.path], sql)
    }

    static func tables(_ dir: URL) throws -> [String] {
        try FirnProcess.tables(["--data-dir", dir.path])
    }

    /// Lands a file the well-behaved way: a hidden temporary name in the landing directory, then a rename.
    static func land(_ file: URL, in landing: URL) throws {
        let temporary = landing.appendingPathComponent("." + file.lastPathComponent + ".tmp")
        try FileManager.default.copyItem(at: file, to: temporary)
        try FileManager.default.moveItem(at: temporary, to: landing.appendingPathComponent(file.lastPathComponent))
    }

    static func startRun(_ data: URL, config: URL) throws -> Process {
        let process = Process()
        process.executableURL = FirnProcess.executable
        process.arguments = ["run", "--data-dir", data.path, "--config", config.path, "--status-interval", "0.5"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test func sigkilledRunRestartedEndsEqualToFirnLoadInOrder() throws {
        let work = try FirnProcess.temporaryDirectory("run")
        defer { FirnProcess.remove(work) }
        let source = work.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        let files = try Self.writeFiles(to: source, files: 24, rows: 3000, keys: 4000, seed: 11)
        let config = work.appendingPathComponent("firn.yaml")
        try "reader:\n  chunk_rows: 500\n".write(to: config, atomically: true, encoding: .utf8)

        let reference = work.appendingPathComponent("reference")
        let load = try FirnProcess.run(["load", "--data-dir", reference.path] + files.map(\.path))
        #expect(load.status == 0, "\(load.stderr)")

        let data = work.appendingPathComponent("data")
        let landing = data.appendingPathComponent("landing")
        try FileManager.default.createDirectory(at: landing, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        var process = try Self.startRun(data, config: config)
        var kills = 0
        for (index, file) in files.enumerated() {
            try Self.land(file, in: landing)
            usleep(UInt32.random(in: 20_000...120_000, using: &generator))
            if index % 4 == 3 {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                kills += 1
                process = try Self.startRun(data, config: config)
            }
        }
        let deadline = Date().addingTimeInterval(120)
        var loaded = ""
        while Date() < deadline {
            loaded = try Self.value(data, "SELECT count(*) FROM firn_loads WHERE status = 'loaded'")
            if loaded == "24" { break }
            usleep(100_000)
        }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "SIGTERM exits cleanly")
        #expect(loaded == "24", "all files loaded after \(kills) kills")
        #expect(try Self.tables(data) == (try Self.tables(reference)))
        #expect(
            try Self.value(data, "SELECT count(*) || ' ' || count(DISTINCT file_name) FROM firn_loads") == "24 24",
            "no file loaded twice"
        )
        let objects = try FileManager.default.subpathsOfDirectory(atPath: data.appendingPathComponent("bucket").path)
            .filter { $0.hasSuffix(".csv") }
        #expect(objects.count == 24)
        #expect(try FileManager.default.contentsOfDirectory(atPath: landing.path).isEmpty, "every file archived")
    }

    @Test func provenanceShowsTheJourney() throws {
        let work = try FirnProcess.temporaryDirectory("provenance")
        defer { FirnProcess.remove(work) }
        let landing = work.appendingPathComponent("landing")
        try FileManager.default.createDirectory(at: landing, withIntermediateDirectories: true)
        let config = work.appendingPathComponent("firn.yaml")
        try "{}\n".write(to: config, atomically: true, encoding: .utf8)
        let process = try Self.startRun(work, config: config)
        try Self.land(FirnProcess.examples.appendingPathComponent("customers-1.csv"), in: landing)
        let deadline = Date().addingTimeInterval(60)
        var output = FirnProcess.Output(status: 1, stdout: "", stderr: "")
        while Date() < deadline {
            output = try FirnProcess.run(["provenance", "--data-dir", work.path, "customers-1.csv"])
            // The pipe's listing may load the object a moment before the journal records the
            // upload; wait for the whole journey (a line that starts with "loaded": "uploaded"
            // contains the word too).
            let steps = output.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            if steps.contains(where: { $0.hasPrefix("loaded ") }) && steps.contains(where: { $0.hasPrefix("archived ") }) {
                break
            }
            usleep(100_000)
        }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(output.stdout.contains("landed "), "\(output.stdout)")
        #expect(output.stdout.contains("uploaded "), "\(output.stdout)")
        #expect(output.stdout.contains("archived "), "\(output.stdout)")
        #expect(output.stdout.contains("5 rows, 0 rejected"), "\(output.stdout)")
        let missing = try FirnProcess.run(["provenance", "--data-dir", work.path, "nothing.csv"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no file or object"))
    }
}
