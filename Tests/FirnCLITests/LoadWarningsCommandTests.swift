import Foundation
import Testing

/// `firn load` says what it did with a file's columns and line endings (issue 11, "Nothing silent").
@MainActor @Suite struct LoadWarningsCommandTests {
    @Test func misnamedOpAndEventTimeColumnsArePrintedAndKeptInCopyHistory() throws {
        let dir = try FirnProcess.temporaryDirectory("warnings")
        defer { FirnProcess.remove(dir) }
        let file = dir.appendingPathComponent("misnamed.csv")
        try """
        customer_id,first_name,last_name,email,street,city,state,country,updated,operation
        1,Ada,Lovelace,ada@x,1 Main St,Oslo,,NO,2026-01-01 10:00:00,D

        """.write(to: file, atomically: true, encoding: .utf8)
        let load = try FirnProcess.run(["load", "--data-dir", dir.path, file.path])
        #expect(load.status == 0, "stderr: \(load.stderr)")
        for warning in [
            "no `op` column: every row is treated as an upsert", "no `update_timestamp` column",
            // Under schema_evolution: evolve, the default, the misnamed columns become attributes.
            "new column(s) added to the entity (schema_evolution: evolve): updated timestamp, operation text",
        ] {
            #expect(load.stdout.contains(warning), "stdout: \(load.stdout)")
        }
        let history = try FirnProcess.run(["copy-history", "--data-dir", dir.path, "--format", "csv"])
        #expect(history.stdout.hasPrefix("load_id,") && history.stdout.contains(",warnings"), "\(history.stdout)")
        #expect(history.stdout.contains("no `op` column"), "\(history.stdout)")
    }

    @Test func aCSVWithCarriageReturnLineEndsLoadsItsRows() throws {
        let dir = try FirnProcess.temporaryDirectory("cr-only")
        defer { FirnProcess.remove(dir) }
        let file = dir.appendingPathComponent("mac.csv")
        let lines = [
            "customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op",
            "1,Ada,Lovelace,ada@x,1 Main St,Oslo,,NO,2026-01-01 10:00:00,I",
            "2,Alan,Turing,alan@x,2 Main St,\"Wilms\rlow\",,UK,2026-01-01 10:00:00,I",
            "1,Ada,Lovelace,ada@x,1 Main St,Oslo,,NO,2026-01-01 11:00:00,D",
        ]
        try Data((lines.joined(separator: "\r") + "\r").utf8).write(to: file)
        let load = try FirnProcess.run(["load", "--data-dir", dir.path, file.path])
        #expect(load.status == 0, "stderr: \(load.stderr)")
        #expect(load.stdout.contains("loaded 3 rows, rejected 0"), "stdout: \(load.stdout)")
        let live = try FirnProcess.run([
            "query", "--data-dir", dir.path, "--format", "csv", "SELECT customer_id, length(city) FROM customer",
        ])
        #expect(live.stdout == "customer_id,length(city)\r\n2,9\r\n", "\(live.stdout)")
    }
}
