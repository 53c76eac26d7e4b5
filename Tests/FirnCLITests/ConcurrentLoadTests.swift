import FirnCore
import Foundation
import Testing

/// Several `firn load` processes on one data directory at once: each file is loaded exactly
/// once and, with distinct event times per key, the tables equal a sequential load's.
@MainActor @Suite(.serialized) struct ConcurrentLoadTests {
    /// A file of `rows` changes over `keys` keys; every row has its own event time
    /// (`offset + stride × row`, in shuffled order, so many records are late).
    static func writeFile(to url: URL, rows: Int, keys: Int, offset: Int, seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        func next() -> Int { Int(truncatingIfNeeded: random.next() >> 1) }
        var order = Array(0..<rows)
        for index in stride(from: rows - 1, to: 0, by: -1) { order.swapAt(index, next() % (index + 1)) }
        var text = "customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op\n"
        for row in order {
            let second = offset + 2 * row
            let time = String(
                format: "2026-03-%02dT%02d:%02d:%02dZ",
                1 + second / 86_400,
                second / 3600 % 24,
                second / 60 % 60,
                second % 60
            )
            let op = next() % 12 == 0 ? "D" : "U"
            text += "\(next() % keys + 1),F\(next() % 4),L,e\(next() % 3)@x,1 St,City,,C,\(time),\(op)\n"
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test func concurrentLoadsOfOneDataDirectoryEqualSequentialLoads() throws {
        let work = try FirnProcess.temporaryDirectory("concurrent")
        defer { FirnProcess.remove(work) }
        let first = work.appendingPathComponent("first.csv")
        let second = work.appendingPathComponent("second.csv")
        try Self.writeFile(to: first, rows: 12_000, keys: 800, offset: 0, seed: 1)
        try Self.writeFile(to: second, rows: 12_000, keys: 800, offset: 1, seed: 2)
        let config = work.appendingPathComponent("firn.yaml")
        try "reader:\n  chunk_rows: 500\n".write(to: config, atomically: true, encoding: .utf8)

        let sequential = work.appendingPathComponent("sequential")
        let run = try FirnProcess.run([
            "load", "--config", config.path, "--data-dir", sequential.path, first.path, second.path,
        ])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")

        // Three processes at once: the second file, the first file, and the first file again.
        let shared = work.appendingPathComponent("shared")
        let starts = try [[second], [first], [first]].map { files in
            try FirnProcess.start(["load", "--config", config.path, "--data-dir", shared.path] + files.map(\.path))
        }
        for (process, out, err) in starts {
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(stdout)\(stderr)")
        }

        for sql in [
            "SELECT * FROM customer ORDER BY customer_id",
            "SELECT * FROM customer_history ORDER BY customer_id, start_time",
            "SELECT count(*), count(DISTINCT source_file || ':' || source_row) FROM customer_raw",
            "SELECT file_name, status, rows_loaded FROM firn_loads WHERE status = 'loaded' ORDER BY file_name",
        ] {
            let want = try FirnProcess.run(["query", "--data-dir", sequential.path, "--format", "csv", sql])
            let got = try FirnProcess.run(["query", "--data-dir", shared.path, "--format", "csv", sql])
            #expect(want.status == 0 && got.status == 0)
            #expect(want.stdout == got.stdout, "differs: \(sql)")
        }
    }
}
