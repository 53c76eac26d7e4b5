import Foundation
import Testing

/// `firn task …` against a data directory that `firn run` schedules tasks in.
@MainActor @Suite(.serialized) struct TaskCommandTests {
    @Test func runSchedulesSQLTasksAndTheTaskCommandsControlThem() throws {
        let work = try FirnProcess.temporaryDirectory("tasks")
        defer { FirnProcess.remove(work) }
        let config = work.appendingPathComponent("firn.yaml")
        try """
        tasks:
          - name: tick
            schedule: 1 second
            sql: CREATE TABLE IF NOT EXISTS ticks (at TEXT); INSERT INTO ticks VALUES (datetime('now'))
          - name: after_tick
            after: [tick]
            sql: CREATE TABLE IF NOT EXISTS after_ticks (at TEXT); INSERT INTO after_ticks VALUES (datetime('now'))
        """.write(to: config, atomically: true, encoding: .utf8)
        let base = ["--data-dir", work.path, "--config", config.path]

        let list = try FirnProcess.run(["task", "list"] + base)
        #expect(list.status == 0, "\(list.stderr)")
        for name in ["load", "retention", "tick", "after_tick"] { #expect(list.stdout.contains(name)) }
        #expect(list.stdout.contains("schedule 1 second"), "\(list.stdout)")

        let process = Process()
        process.executableURL = FirnProcess.executable
        process.arguments = ["run", "--status-interval", "60"] + base
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        var history = ""
        while Date() < deadline {
            history = try FirnProcess.run(["task", "history", "after_tick"] + base).stdout
            if history.contains("succeeded") { break }
            usleep(200_000)
        }
        #expect(history.contains("after tick"), "\(history)")

        let suspend = try FirnProcess.run(["task", "suspend", "tick"] + base)
        #expect(suspend.status == 0 && suspend.stdout.contains("suspended"))
        usleep(500_000)
        let before = try FirnProcess.run(["query", "--format", "csv", "SELECT count(*) FROM ticks"] + base).stdout
        usleep(2_500_000)
        let after = try FirnProcess.run(["query", "--format", "csv", "SELECT count(*) FROM ticks"] + base).stdout
        #expect(before == after, "a suspended task does not run")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        #expect(try FirnProcess.run(["task", "resume", "tick"] + base).status == 0)
        let manual = try FirnProcess.run(["task", "run", "tick"] + base)
        #expect(manual.status == 0, "\(manual.stderr)")
        #expect(manual.stdout.contains("manual"))
        let unknown = try FirnProcess.run(["task", "run", "nope"] + base)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no task named"))
    }
}
