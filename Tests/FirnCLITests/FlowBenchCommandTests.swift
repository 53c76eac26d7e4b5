import Foundation
import Testing

/// `firn bench flow --find-max` end to end, kept short: the step table and the verdict line.
@MainActor @Suite struct FlowBenchCommandTests {
    /// A p99 bound no run can meet stops at the first rate, run twice and reported as not
    /// sustained, with no highest rate; a bound of 0 is refused.
    @Test func findMaxReportsEachStepAndTheHighestSustainedRate() throws {
        let dir = try FirnProcess.temporaryDirectory("find-max")
        defer { FirnProcess.remove(dir) }
        let common = ["bench", "flow", "--buckets", "file", "--no-verify", "--seconds", "0.5", "--rate", "2000", "--find-max"]
        let run = try FirnProcess.run(common + ["--max-p99", "0.000001", "--directory", dir.path], seconds: 120)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("offered rows/s  loaded rows/s  p50  p99  generator CPU  sustained"), "\(run.stdout)")
        // Not sustained, so tried once more before the search stops.
        #expect(run.stdout.components(separatedBy: "\n2000  ").count == 3, "\(run.stdout)")
        #expect(run.stdout.contains("NOT sustained"), "\(run.stdout)")
        #expect(run.stdout.contains("highest sustained: none; even 2000 rows/s was not sustained"), "\(run.stdout)")
        let refused = try FirnProcess.run(common + ["--max-p99", "0"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--max-p99 is a number of seconds above 0"), "\(refused.stderr)")
    }
}
