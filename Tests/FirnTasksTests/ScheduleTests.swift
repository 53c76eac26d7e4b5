import FirnTasks
import Foundation
import Testing

@Suite("Schedules")
struct ScheduleTests {
    static let losAngeles = TimeZone(identifier: "America/Los_Angeles")!

    @Test(
        "intervals in every accepted spelling",
        arguments: [
            ("30 seconds", 30), ("1 second", 1), ("1 minute", 60), ("5 minutes", 300), ("2 hours", 7200),
            ("1 day", 86_400), ("1 MINUTE", 60), ("60 SECONDS", 60), ("5 MINUTE", 300), ("2 HOURS", 7200),
            ("5", 300), ("  10\tminutes \n", 600), ("5m", 300), ("30s", 30), ("2h", 7200), ("1d", 86_400),
            ("3 Mins", 180), ("2 hrs", 7200), ("45 sec", 45), ("10 min", 600), ("7 days", 604_800),
        ] as [(String, Int64)]
    )
    func intervals(text: String, seconds: Int64) throws {
        #expect(try Schedule(parsing: text) == .interval(.seconds(seconds)))
    }

    @Test("cron schedules as Snowflake writes them, and shorter")
    func cronSchedules() throws {
        let weekdays = try CronExpression(parsing: "0 9 * * MON-FRI")
        #expect(
            try Schedule(parsing: "USING CRON 0 9 * * MON-FRI America/Los_Angeles")
                == .cron(weekdays, timeZone: Self.losAngeles)
        )
        #expect(
            try Schedule(parsing: "using cron 0 9 * * mon-fri america/los_angeles")
                == .cron(weekdays, timeZone: Self.losAngeles)
        )
        #expect(
            try Schedule(parsing: "cron 0 9 * * 1-5 UTC")
                == .cron(try CronExpression(parsing: "0 9 * * 1-5"), timeZone: .gmt)
        )
        #expect(
            try Schedule(parsing: "CRON */15 * * * *")
                == .cron(try CronExpression(parsing: "*/15 * * * *"), timeZone: .gmt)
        )
        #expect(
            try Schedule(parsing: "USING CRON 0 9 * * * utc")
                == .cron(try CronExpression(parsing: "0 9 * * *"), timeZone: .gmt)
        )
        #expect(
            try Schedule(parsing: " USING  CRON 0 0 L * *  Europe/Berlin ")
                == .cron(try CronExpression(parsing: "0 0 L * *"), timeZone: TimeZone(identifier: "Europe/Berlin")!)
        )
    }

    @Test(
        "bad schedules are refused with the whole text and what is wrong",
        arguments: [
            (
                "",
                "schedule is empty; write an interval such as '5 minutes' or a cron schedule such as "
                    + "'USING CRON 0 9 * * MON-FRI America/Los_Angeles'"
            ),
            ("0 minutes", "interval 0 minutes is not positive; it must be at least 1 second"),
            ("-5 minutes", "interval -5 minutes is not positive; it must be at least 1 second"),
            ("0", "interval 0 minutes is not positive; it must be at least 1 second"),
            ("5 fortnights", "unknown interval unit 'fortnights'; use seconds, minutes, hours or days"),
            ("5 weeks", "unknown interval unit 'weeks'; use seconds, minutes, hours or days"),
            ("1.5 hours", "interval 1.5 is not a whole number of hours; use a smaller unit"),
            ("0.5s", "interval 0.5 is not a whole number of seconds; the shortest interval is 1 second"),
            (
                "every day",
                "'every' is not a number; write an interval such as '5 minutes' or a cron schedule such as "
                    + "'USING CRON 0 9 * * MON-FRI America/Los_Angeles'"
            ),
            (
                "nan",
                "'nan' is not a number; write an interval such as '5 minutes' or a cron schedule such as "
                    + "'USING CRON 0 9 * * MON-FRI America/Los_Angeles'"
            ),
            (
                "5 minutes please",
                "an interval is a number and a unit, such as '5 minutes'; write an interval such as '5 minutes' "
                    + "or a cron schedule such as 'USING CRON 0 9 * * MON-FRI America/Los_Angeles'"
            ),
            ("99999999999999999999 days", "interval 99999999999999999999 days is too long"),
            ("9223372036854775807 days", "interval 9223372036854775807 days is too long"),
            ("USING CRON 0 25 * * * UTC", "cron field 'hour' value 25 is out of range 0-23"),
            ("cron 0 0 31 APR *", "cron day-of-month 31 never falls in month APR, so the schedule would never run"),
            (
                "USING CRON 0 9 * * MON-FRI Mars/Olympus",
                "'Mars/Olympus' is not a known time zone; use an IANA name such as America/Los_Angeles or UTC"
            ),
            (
                "USING CRON 0 0 9 * * MON",
                "'MON' is not a known time zone; use an IANA name such as America/Los_Angeles or UTC "
                    + "(cron has 5 fields; seconds and year fields are not supported)"
            ),
            (
                "USING CRON 0 0 9 * * MON UTC",
                "a cron schedule needs 5 fields (minute hour day-of-month month day-of-week) and a time zone, "
                    + "found 7 words after CRON"
            ),
            (
                "CRON",
                "a cron schedule needs 5 fields (minute hour day-of-month month day-of-week) and a time zone, "
                    + "found 0 words after CRON"
            ),
            ("USING 0 9 * * *", "expected CRON after USING, as in 'USING CRON 0 9 * * * UTC'"),
        ]
    )
    func refused(text: String, reason: String) {
        #expect(throws: ScheduleError(text: text, reason: reason)) { try Schedule(parsing: text) }
    }

    @Test("the error message names the text and what is wrong")
    func errorMessage() {
        #expect(
            ScheduleError(text: "0 25 * * *", reason: "cron field 'hour' value 25 is out of range 0-23").description
                == "cron field 'hour' value 25 is out of range 0-23 in \"0 25 * * *\""
        )
    }

    @Test(
        "descriptions use the largest whole unit and parse back to the same schedule",
        arguments: [
            ("5 MINUTE", "5 minutes"), ("60 seconds", "1 minute"), ("90 s", "90 seconds"), ("120 min", "2 hours"),
            ("48 hours", "2 days"), ("1 d", "1 day"), ("1", "1 minute"),
            ("using cron 0 9 * * mon-fri america/los_angeles", "USING CRON 0 9 * * MON-FRI America/Los_Angeles"),
            ("cron */15 * * * *", "USING CRON */15 * * * * UTC"),
            ("CRON 0 0 L * * Asia/Kathmandu", "USING CRON 0 0 L * * Asia/Kathmandu"),
        ]
    )
    func descriptionRoundTrips(text: String, description: String) throws {
        let schedule = try Schedule(parsing: text)
        #expect(schedule.description == description)
        #expect(try Schedule(parsing: schedule.description) == schedule)
    }

    @Test("an interval's next run is the start plus the interval")
    func intervalNextRun() throws {
        let start = instant("2024-05-01T10:07:30.25Z")
        #expect(try Schedule(parsing: "5 minutes").nextRun(after: start) == start + 300)
        #expect(try Schedule(parsing: "1 day").nextRun(after: start) == start + 86_400)
        #expect(Schedule.interval(.milliseconds(1500)).nextRun(after: start) == start + 1.5)
    }

    @Test("an interval built directly below one second still moves at least one second on")
    func tinyIntervalsCountAsOneSecond() {
        let start = instant("2024-05-01T10:00:00Z")
        #expect(Schedule.interval(.zero).nextRun(after: start) == start + 1)
        #expect(Schedule.interval(.seconds(-5)).nextRun(after: start) == start + 1)
        #expect(Schedule.interval(.nanoseconds(1)).nextRun(after: start) == start + 1)
    }

    @Test("a cron schedule's next run is in its time zone, UTC when none is given")
    func cronNextRun() throws {
        let weekdays = try Schedule(parsing: "USING CRON 0 9 * * MON-FRI America/Los_Angeles")
        // Friday 09:00 PST, then Monday 09:00 PDT after the spring change.
        let friday = weekdays.nextRun(after: instant("2024-03-07T18:00:00Z"))
        #expect(friday == instant("2024-03-08T17:00:00Z"))
        #expect(weekdays.nextRun(after: friday) == instant("2024-03-11T16:00:00Z"))
        let utc = try Schedule(parsing: "cron 0 9 * * *")
        #expect(utc.nextRun(after: instant("2024-05-01T10:00:00Z")) == instant("2024-05-02T09:00:00Z"))
        #expect(utc.nextRun(after: instant("2024-05-02T09:00:00Z")) == instant("2024-05-03T09:00:00Z"))
    }
}
