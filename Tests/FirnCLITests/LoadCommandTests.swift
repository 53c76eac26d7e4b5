import Foundation
import Testing

@MainActor @Suite struct LoadCommandTests {
    @Test func badRowsAreRejectedWithReasonsAndTheRestLoads() throws {
        let dir = try FirnProcess.temporaryDirectory("bad-rows")
        defer { FirnProcess.remove(dir) }
        let file = FirnProcess.examples.appendingPathComponent("bad-rows.csv").path
        let load = try FirnProcess.run(["load", "--data-dir", dir.path, file])
        #expect(load.status == 0, "stderr: \(load.stderr)")
        #expect(load.stdout.contains("loaded 2 rows, rejected 6"), "stdout: \(load.stdout)")

        let rejects = try FirnProcess.run(["rejects", "--data-dir", dir.path, "--format", "csv"])
        #expect(rejects.status == 0)
        let text = rejects.stdout
        for reason in ["timestamp", "fields", "missing key", "unknown op", "integer", "UTF-8"] {
            #expect(text.contains(reason), "no reject mentions \(reason):\n\(text)")
        }
        let live = try FirnProcess.run([
            "query", "--data-dir", dir.path, "--format", "csv", "SELECT customer_id FROM customer ORDER BY 1",
        ])
        #expect(live.stdout == "customer_id\r\n10\r\n15\r\n")
    }

    @Test func unreadableFilesExitNonZeroAndAreRecorded() throws {
        let dir = try FirnProcess.temporaryDirectory("unreadable")
        defer { FirnProcess.remove(dir) }
        let empty = dir.appendingPathComponent("empty.csv")
        try Data().write(to: empty)
        let binary = dir.appendingPathComponent("binary.csv")
        try Data([0x50, 0x4B, 0x03, 0x04, 0x00, 0x00, 0x08, 0x00]).write(to: binary)
        let noKey = dir.appendingPathComponent("no-key.csv")
        try "first_name,last_name\nAda,Lovelace\n".write(to: noKey, atomically: true, encoding: .utf8)
        for file in [empty, binary, noKey] {
            let run = try FirnProcess.run(["load", "--data-dir", dir.path, file.path])
            #expect(run.status != 0, "\(file.lastPathComponent) should fail")
            #expect(run.stdout.contains(file.lastPathComponent) && run.stdout.contains("FAILED"))
            #expect(!run.stderr.contains("Fatal error"))
        }
        let missing = try FirnProcess.run(["load", "--data-dir", dir.path, dir.appendingPathComponent("nope.csv").path])
        #expect(missing.status != 0)
        let history = try FirnProcess.run(["copy-history", "--data-dir", dir.path, "--format", "csv"])
        #expect(history.stdout.components(separatedBy: "failed").count - 1 == 4, "\(history.stdout)")
    }

    @Test func examplesLoadAndRedeliveryIsSkipped() throws {
        let dir = try FirnProcess.temporaryDirectory("examples")
        defer { FirnProcess.remove(dir) }
        let files = ["customers-1.csv", "customers-2.csv", "customers-3-late.csv", "customers-4.jsonl"].map {
            FirnProcess.examples.appendingPathComponent($0).path
        }
        let first = try FirnProcess.run(["load", "--data-dir", dir.path] + files)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let again = try FirnProcess.run(["load", "--data-dir", dir.path, files[1]])
        #expect(again.status == 0)
        #expect(again.stdout.contains("skipped"))
        // Ada's late change (2026-11-01 15:00) splits her first version; SCD1 keeps the newest.
        let ada = try FirnProcess.run(["history", "--data-dir", dir.path, "--format", "csv", "1"])
        let lines = ada.stdout.split(separator: "\r\n")
        #expect(lines.count == 4, "\(ada.stdout)")
        let scd1 = try FirnProcess.run([
            "query", "--data-dir", dir.path, "--format", "csv",
            "SELECT last_name, email FROM customer WHERE customer_id = 1",
        ])
        #expect(scd1.stdout == "last_name,email\r\nLovelace,ada@analytical.engine\r\n")
    }

    @Test func queryFormatsDistinguishNullFromEmptyString() throws {
        let dir = try FirnProcess.temporaryDirectory("formats")
        defer { FirnProcess.remove(dir) }
        let sql = "SELECT NULL AS a, '' AS b, 'x,\"y\"' AS c, 42 AS d"
        // Query only reads an existing warehouse: make one.
        #expect(try FirnProcess.run(["load", "--data-dir", dir.path, FirnProcess.examples.appendingPathComponent("customers-1.csv").path]).status == 0)
        let csv = try FirnProcess.run(["query", "--data-dir", dir.path, "--format", "csv", sql])
        #expect(csv.stdout == "a,b,c,d\r\n,\"\",\"x,\"\"y\"\"\",42\r\n")
        let json = try FirnProcess.run(["query", "--data-dir", dir.path, "--format", "json", sql])
        #expect(json.stdout == "[{\"a\":null,\"b\":\"\",\"c\":\"x,\\\"y\\\"\",\"d\":42}]\n")
        let bad = try FirnProcess.run(["query", "--data-dir", dir.path, "SELEC nonsense"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("syntax error"))
        #expect(bad.stderr.split(separator: "\n").count <= 2)
    }
}
