import Testing

@testable import FirnBench

/// `firn bench flow`'s apply line: readings of `firn_apply_seconds_total` and
/// `firn_apply_rows_total` taken apart and written out.
@Suite struct ApplyTimeTests {
    @Test func differenceOfReadingsAndTheLine() {
        let before = ApplyTime(seconds: ["stage": 1, "write": 2, "commit": 0.5], rows: 100_000)
        let third = ApplyTime(seconds: ["stage": 1.5, "write": 3, "commit": 1], rows: 180_000)
        let after = ApplyTime(seconds: ["group": 0.25, "stage": 2, "write": 5, "commit": 1.75], rows: 400_000)

        let run = after.since(before)
        #expect(run.rows == 300_000)
        #expect(run.seconds == ["group": 0.25, "stage": 1, "write": 3, "commit": 1.25])
        #expect(run.total == 5.5)

        let line = run.line(runSeconds: 8, parts: [third.since(before), after.since(third)])
        #expect(
            line
                == "apply 5.50 s of the run's 8.00 s (69%): group 0.25, stage 1.00, probe 0.00, write 3.00, commit 1.25;"
                + " 18.3 µs a row (by parts of the run: 25.0 / 15.9)"
        )
        // Three parts are thirds; a part with no rows has no cost a row.
        let thirds = run.line(runSeconds: 8, parts: [third.since(before), after.since(third), ApplyTime()])
        #expect(thirds.hasSuffix("18.3 µs a row (by thirds of the run: 25.0 / 15.9 / -)"))
    }

    @Test func noRowsAppliedSaysSo() {
        let nothing = ApplyTime()
        #expect(nothing.microsecondsPerRow == nil)
        #expect(
            nothing.line(runSeconds: 0, parts: [])
                == "apply 0.00 s: group 0.00, stage 0.00, probe 0.00, write 0.00, commit 0.00"
        )
    }
}
