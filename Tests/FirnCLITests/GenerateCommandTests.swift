import Foundation
import Testing

/// `firn generate` end to end: files appear, a second run continues, other settings are
/// refused, and `firn load` takes every row without a reject.
@MainActor @Suite(.serialized) struct GenerateCommandTests {
    @Test func generateContinuesRefusesOtherSettingsAndLoadsCleanly() throws {
        let work = try FirnProcess.temporaryDirectory("generate")
        defer { FirnProcess.remove(work) }
        let data = work.appendingPathComponent("data").path
        let common = ["generate", "--data-dir", data, "--rate", "100000", "--rows-per-file", "300", "--seed", "5"]
        let start = ["--start-time", "2026-01-01T00:00:00Z", "--late-fraction", "0.1"]

        let first = try FirnProcess.run(common + start + ["--files", "3"])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("start time 2026-01-01T00:00:00.000000Z"))
        #expect(first.stdout.contains("customers-000002.csv: 300 rows (new "))
        let second = try FirnProcess.run(common + ["--files", "2"])
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(second.stdout.contains("from file 3"))
        #expect(second.stdout.contains("next file 5"))

        let other = try FirnProcess.run(["generate", "--data-dir", data, "--seed", "6", "--files", "1"])
        #expect(other.status != 0)
        #expect(other.stderr.contains("seed 5 → 6") && other.stderr.contains("--fresh"), "\(other.stderr)")

        let landing = URL(fileURLWithPath: data).appendingPathComponent("landing")
        let files = try FileManager.default.contentsOfDirectory(atPath: landing.path)
            .filter { !$0.hasPrefix(".") }.sorted()
        #expect(files == (0..<5).map { String(format: "customers-%06d.csv", $0) })
        let load = try FirnProcess.run(
            ["load", "--data-dir", data] + files.map { landing.appendingPathComponent($0).path }
        )
        #expect(load.status == 0, "\(load.stdout)\(load.stderr)")
        let rejects = try FirnProcess.run([
            "query", "--data-dir", data, "--format", "csv", "SELECT count(*) FROM firn_rejects",
        ])
        let staged = try FirnProcess.run([
            "query", "--data-dir", data, "--format", "csv", "SELECT count(*) FROM customer_raw",
        ])
        func lastLine(_ text: String) -> String? { text.split(whereSeparator: \.isNewline).last.map(String.init) }
        #expect(lastLine(rejects.stdout) == "0", "\(rejects.stdout)")
        #expect(lastLine(staged.stdout) == "1500", "\(staged.stdout)")
    }

    /// A config with options of the built-in customer (`deletes`, `open_end`, policies) still
    /// writes customer files; one declaring another entity is refused, naming it.
    @Test func generateFollowsTheCustomerShapeNotItsOptions() throws {
        let work = try FirnProcess.temporaryDirectory("generate-config")
        defer { FirnProcess.remove(work) }
        let options = work.appendingPathComponent("options.yaml")
        try "entity:\n  deletes: record\n  open_end: null\n  null_updates: ignore\n".write(to: options, atomically: true, encoding: .utf8)
        let declared = work.appendingPathComponent("declared.yaml")
        try "entity:\n  name: product\n  keys: [{ name: sku }]\n  attributes: [{ name: title }]\n"
            .write(to: declared, atomically: true, encoding: .utf8)
        let common = ["generate", "--data-dir", work.appendingPathComponent("data").path, "--files", "1", "--unpaced"]
        let written = try FirnProcess.run(common + ["--config", options.path])
        #expect(written.status == 0, "\(written.stdout)\(written.stderr)")
        let refused = try FirnProcess.run(common + ["--config", declared.path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("declares entity product"), "\(refused.stderr)")
    }
}
