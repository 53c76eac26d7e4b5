import FirnTasks
import FirnTestSupport
import Foundation
import Testing

/// An instant written as ISO 8601 in UTC: `2024-03-11T16:00:00Z`.
func instant(_ text: String) -> Date {
    try! Date(text, strategy: .iso8601)
}

/// The next `count` runs of `expression` after `start`, as UTC ISO 8601 text.
func runs(_ expression: String, after start: String, in zone: String = "UTC", count: Int) throws -> [String] {
    let cron = try CronExpression(parsing: expression)
    let timeZone = try #require(TimeZone(identifier: zone))
    var result: [String] = []
    var date = instant(start)
    for _ in 0..<count {
        guard let next = cron.next(after: date, in: timeZone) else { break }
        result.append(next.formatted(.iso8601))
        date = next
    }
    return result
}

@Suite("Cron expressions")
struct CronExpressionTests {
    @Test(
        "accepted forms parse, with white space collapsed and letters in upper case",
        arguments: [
            ("*/15 * * * *", "*/15 * * * *"),
            ("  0   9 * *\tmon-fri ", "0 9 * * MON-FRI"),
            ("10-50/20 * * * *", "10-50/20 * * * *"),
            ("5,10-12,*/20 0,12 * * *", "5,10-12,*/20 0,12 * * *"),
            ("0 0 1,15,L * *", "0 0 1,15,L * *"),
            ("0 0 l * *", "0 0 L * *"),
            ("0 0 * jan,Jul *", "0 0 * JAN,JUL *"),
            ("0 0 1 4/3 *", "0 0 1 4/3 *"),
            ("0 0 * * 0-7", "0 0 * * 0-7"),
            ("0 0 * * Sat-Sun", "0 0 * * SAT-SUN"),
            ("0-59 0-23 1-31 1-12 0-7", "0-59 0-23 1-31 1-12 0-7"),
            ("59 23 31 DEC SUN", "59 23 31 DEC SUN"),
        ]
    )
    func acceptedForms(text: String, description: String) throws {
        #expect(try CronExpression(parsing: text).description == description)
    }

    @Test(
        "equivalent spellings run at the same times",
        arguments: [
            ("0 9 * * MON-FRI", "0 9 * * 1-5"),
            ("0 0 * * 7", "0 0 * * SUN"),
            ("0 0 * * 0", "0 0 * * 7"),
            ("0 0 1 jan,JUL *", "0 0 1 1,7 *"),
            ("*/20 * * * *", "0,20,40 * * * *"),
            ("10-50/20 * * * *", "10,30,50 * * * *"),
            ("0 0 1 4/3 *", "0 0 1 4,7,10 *"),
            ("0 0 * * SAT-SUN", "0 0 * * 0,6"),
            ("0 0 * * SUN-SUN", "0 0 * * 0"),
            ("0 0 * * 5-7", "0 0 * * 0,5,6"),
            ("0 12 * * */2", "0 12 * * 0,2,4,6"),
        ]
    )
    func equivalentSpellings(first: String, second: String) throws {
        let firstRuns = try runs(first, after: "2023-12-30T00:00:00Z", count: 40)
        #expect(firstRuns.count == 40)
        #expect(firstRuns == (try runs(second, after: "2023-12-30T00:00:00Z", count: 40)))
    }

    @Test(
        "malformed or unsupported expressions are refused with the field and value at fault",
        arguments: [
            ("0 25 * * *", "cron field 'hour' value 25 is out of range 0-23"),
            ("60 * * * *", "cron field 'minute' value 60 is out of range 0-59"),
            ("* * 0 * *", "cron field 'day-of-month' value 0 is out of range 1-31"),
            ("* * * 13 *", "cron field 'month' value 13 is out of range 1-12"),
            ("* * * * 8", "cron field 'day-of-week' value 8 is out of range 0-7"),
            ("99999999999999999999 * * * *", "cron field 'minute' value 99999999999999999999 is out of range 0-59"),
            ("* * * FOO *", "cron field 'month' value 'FOO' is not a number or a month name (JAN-DEC)"),
            ("* * * * FUNDAY", "cron field 'day-of-week' value 'FUNDAY' is not a number or a day name (SUN-SAT)"),
            ("* MON * * *", "cron field 'hour' value 'MON' is not a number"),
            ("*/0 * * * *", "cron field 'minute' step 0 in '*/0' must be at least 1"),
            ("*/X * * * *", "cron field 'minute' step 'X' in '*/X' is not a number"),
            ("5-1 * * * *", "cron field 'minute' range 5-1 goes backwards; split it, as in 5-59,0-1"),
            ("0 22-2 * * *", "cron field 'hour' range 22-2 goes backwards; split it, as in 22-23,0-2"),
            ("0 0 * * FRI-MON", "cron field 'day-of-week' range FRI-MON goes backwards; split it, as in 5-7,0-1"),
            ("1,,2 * * * *", "cron field 'minute' has an empty item in the list '1,,2'"),
            ("1-2-3 * * * *", "cron field 'minute' item '1-2-3' is not '*', a value or a range such as 1-5"),
            ("-5 * * * *", "cron field 'minute' item '-5' is not '*', a value or a range such as 1-5"),
            ("1/2/3 * * * *", "cron field 'minute' item '1/2/3' has more than one '/'"),
            ("* * * * 5L", "cron field 'day-of-week' item '5L': 'L' (last weekday of the month) is not supported"),
            (
                "* * L-2 * *",
                "cron field 'day-of-month' item 'L-2': 'L' stands alone for the last day of the month; "
                    + "offsets, ranges and steps with it are not supported"
            ),
            ("L * * * *", "cron field 'minute' item 'L': 'L' is only allowed in the day-of-month field"),
            ("* * 15W * *", "cron field 'day-of-month' item '15W': 'W' (nearest weekday) is not supported"),
            ("* * * * 1#2", "cron field 'day-of-week' item '1#2': '#' (nth weekday of the month) is not supported"),
            ("* * ? * *", "cron field 'day-of-month' item '?': '?' is not supported; use '*'"),
            ("0 0 30 2 *", "cron day-of-month 30 never falls in month 2, so the schedule would never run"),
            (
                "0 0 31 4,6,9,11 *",
                "cron day-of-month 31 never falls in month 4,6,9,11, so the schedule would never run"
            ),
            ("* * * *", "cron expression has 4 fields; it needs 5 (minute hour day-of-month month day-of-week)"),
            (
                "0 * * * * *",
                "cron expression has 6 fields; it needs 5 (minute hour day-of-month month day-of-week); "
                    + "seconds and year fields are not supported"
            ),
            (
                "@daily",
                "cron expression has 1 field; it needs 5 (minute hour day-of-month month day-of-week); "
                    + "macros such as @daily are not supported, write 0 0 * * * instead"
            ),
            ("", "cron expression has 0 fields; it needs 5 (minute hour day-of-month month day-of-week)"),
        ]
    )
    func refused(text: String, reason: String) {
        #expect(throws: ScheduleError(text: text, reason: reason)) { try CronExpression(parsing: text) }
        #expect(ScheduleError(text: text, reason: reason).description == "\(reason) in \"\(text)\"")
    }

    @Test("every 15 minutes: the next quarter hour, strictly after the start")
    func everyFifteenMinutes() throws {
        #expect(
            try runs("*/15 * * * *", after: "2024-05-01T10:07:30Z", count: 4) == [
                "2024-05-01T10:15:00Z", "2024-05-01T10:30:00Z", "2024-05-01T10:45:00Z", "2024-05-01T11:00:00Z",
            ]
        )
        #expect(try runs("*/15 * * * *", after: "2024-05-01T10:15:00Z", count: 1) == ["2024-05-01T10:30:00Z"])
        let cron = try CronExpression(parsing: "*/15 * * * *")
        let justBefore = instant("2024-05-01T10:15:00Z").addingTimeInterval(-0.001)
        #expect(cron.next(after: justBefore, in: .gmt) == instant("2024-05-01T10:15:00Z"))
        let justAfter = instant("2024-05-01T10:15:00Z").addingTimeInterval(0.5)
        #expect(cron.next(after: justAfter, in: .gmt) == instant("2024-05-01T10:30:00Z"))
    }

    @Test("09:00 on weekdays in Los Angeles keeps 09:00 local across both DST changes")
    func weekdayMorningsAcrossDaylightSaving() throws {
        // Spring: Friday 09:00 PST is 17:00 UTC; Monday 09:00 PDT is 16:00 UTC.
        #expect(
            try runs("0 9 * * MON-FRI", after: "2024-03-07T18:00:00Z", in: "America/Los_Angeles", count: 3) == [
                "2024-03-08T17:00:00Z", "2024-03-11T16:00:00Z", "2024-03-12T16:00:00Z",
            ]
        )
        // Autumn: Friday 09:00 PDT is 16:00 UTC; Monday 09:00 PST is 17:00 UTC.
        #expect(
            try runs("0 9 * * 1-5", after: "2024-10-31T17:00:00Z", in: "America/Los_Angeles", count: 2) == [
                "2024-11-01T16:00:00Z", "2024-11-04T17:00:00Z",
            ]
        )
    }

    @Test("a local time the clock skips in spring does not run that day")
    func springForwardGapIsSkipped() throws {
        // 2024-03-10 02:00 PST jumps to 03:00 PDT: 02:30 does not exist.
        #expect(
            try runs("30 2 * * *", after: "2024-03-09T10:30:00Z", in: "America/Los_Angeles", count: 2) == [
                "2024-03-11T09:30:00Z", "2024-03-12T09:30:00Z",
            ]
        )
    }

    @Test("a local time the clock repeats in autumn runs once, at its first occurrence")
    func fallBackRunsOnce() throws {
        // 2024-11-03 02:00 PDT falls back to 01:00 PST: 01:30 happens at 08:30 and 09:30 UTC.
        #expect(
            try runs("30 1 * * *", after: "2024-11-02T08:30:00Z", in: "America/Los_Angeles", count: 2) == [
                "2024-11-03T08:30:00Z", "2024-11-04T09:30:00Z",
            ]
        )
        #expect(
            try runs("*/30 * * * *", after: "2024-11-03T08:00:00Z", in: "America/Los_Angeles", count: 3) == [
                "2024-11-03T08:30:00Z", "2024-11-03T10:00:00Z", "2024-11-03T10:30:00Z",
            ]
        )
        // Starting inside the repeated hour (01:10 PST) does not run its times again.
        #expect(
            try runs("*/30 * * * *", after: "2024-11-03T09:10:00Z", in: "America/Los_Angeles", count: 1) == [
                "2024-11-03T10:00:00Z"
            ]
        )
    }

    @Test("offsets that are not whole hours: Kathmandu is UTC+05:45")
    func quarterHourOffset() throws {
        #expect(
            try runs("0 9 * * *", after: "2024-01-01T00:00:00Z", in: "Asia/Kathmandu", count: 1) == [
                "2024-01-01T03:15:00Z"
            ]
        )
    }

    @Test("L is the last day of each month, the 29th of February in leap years")
    func lastDayOfMonth() throws {
        #expect(
            try runs("0 0 L * *", after: "2024-01-15T00:00:00Z", count: 4) == [
                "2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z", "2024-04-30T00:00:00Z",
            ]
        )
        #expect(try runs("0 0 L 2 *", after: "2023-01-01T00:00:00Z", count: 1) == ["2023-02-28T00:00:00Z"])
    }

    @Test("February 29 runs only in leap years, skipping 2100")
    func leapDay() throws {
        #expect(
            try runs("0 0 29 2 *", after: "2024-03-01T00:00:00Z", count: 2) == [
                "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z",
            ]
        )
        #expect(try runs("0 0 29 2 *", after: "2096-03-01T00:00:00Z", count: 1) == ["2104-02-29T00:00:00Z"])
        // With `*/7` (Sunday, unrestricted) the day must be both: February 29 on a Sunday.
        #expect(
            try runs("0 0 29 2 */7", after: "2024-01-01T00:00:00Z", count: 4) == [
                "2032-02-29T00:00:00Z", "2060-02-29T00:00:00Z", "2088-02-29T00:00:00Z", "2128-02-29T00:00:00Z",
            ]
        )
    }

    @Test("the 31st skips months of 30 days or fewer")
    func thirtyFirst() throws {
        #expect(
            try runs("0 0 31 * *", after: "2024-01-31T00:00:00Z", count: 6) == [
                "2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z", "2024-08-31T00:00:00Z",
                "2024-10-31T00:00:00Z", "2024-12-31T00:00:00Z",
            ]
        )
    }

    @Test("day of month and day of week both restricted: either matches")
    func restrictedDaysCombineWithOr() throws {
        #expect(
            try runs("0 0 13 * FRI", after: "2024-09-01T00:00:00Z", count: 8) == [
                "2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z", "2024-09-20T00:00:00Z", "2024-09-27T00:00:00Z",
                "2024-10-04T00:00:00Z", "2024-10-11T00:00:00Z", "2024-10-13T00:00:00Z", "2024-10-18T00:00:00Z",
            ]
        )
    }

    @Test("a day field starting with * is unrestricted, so the days combine with AND (as Vixie cron)")
    func starStepDayCombinesWithAnd() throws {
        // Odd-numbered days that are Mondays.
        #expect(
            try runs("0 0 */2 * MON", after: "2024-09-01T00:00:00Z", count: 4) == [
                "2024-09-09T00:00:00Z", "2024-09-23T00:00:00Z", "2024-10-07T00:00:00Z", "2024-10-21T00:00:00Z",
            ]
        )
    }

    @Test("a start that is not a finite time has no next run")
    func nonFiniteStart() throws {
        let cron = try CronExpression(parsing: "* * * * *")
        #expect(cron.next(after: Date(timeIntervalSince1970: .infinity), in: .gmt) == nil)
        #expect(cron.next(after: Date(timeIntervalSince1970: .nan), in: .gmt) == nil)
    }
}

/// A cron field written at random, with the values it stands for worked out here, apart from the parser.
struct RandomField {
    var text: String
    var values: Set<Int>
    var includesLast = false
    /// Vixie cron's rule: a day field is restricted unless it starts with `*`.
    var isRestricted: Bool { !text.hasPrefix("*") }

    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// A list of one or more random items over `range`: `*`, `*/n`, `a`, `a-b`, `a-b/n`, `a/n`, and
    /// for the day of week `a-SUN`, for the day of month `L`.
    static func random(
        _ range: ClosedRange<Int>,
        names: [String] = [],
        items: ClosedRange<Int> = 1...3,
        using random: inout SeededGenerator
    ) -> RandomField {
        let isDayOfWeek = range == 0...7
        let star = isDayOfWeek ? 0...6 : range
        func write(_ value: Int) -> String {
            let index = value - range.lowerBound
            guard index < names.count, random.chance(0.4) else { return String(value) }
            return random.chance(0.5) ? names[index] : names[index].lowercased()
        }
        var field = RandomField(text: "", values: [])
        var texts: [String] = []
        for _ in 0..<random.int(items) {
            let a = random.int(range)
            let b = random.int(a...range.upperBound)
            let step = random.int(1...max(1, star.count / 2))
            var selected: [Int]
            switch random.int(0...7) {
            case 0:
                texts.append("*")
                selected = Array(star)
            case 1:
                texts.append("*/\(step)")
                selected = Array(stride(from: star.lowerBound, through: star.upperBound, by: step))
            case 2:
                texts.append(write(a))
                selected = [a]
            case 3:
                texts.append("\(write(a))-\(write(b))")
                selected = Array(a...b)
            case 4:
                texts.append("\(write(a))-\(write(b))/\(step)")
                selected = Array(stride(from: a, through: b, by: step))
            case 5:
                texts.append("\(write(a))/\(step)")
                selected = Array(stride(from: a, through: max(a, star.upperBound), by: step))
            case 6 where isDayOfWeek && (1...6).contains(a):
                texts.append("\(write(a))-\(random.chance(0.5) ? "SUN" : "sun")")
                selected = Array(a...7)
            case 6 where range == 1...31:
                texts.append(random.chance(0.5) ? "L" : "l")
                field.includesLast = true
                selected = []
            default:
                texts.append(write(a))
                selected = [a]
            }
            field.values.formUnion(selected.map { isDayOfWeek ? $0 % 7 : $0 })
        }
        field.text = texts.joined(separator: ",")
        return field
    }
}

/// Whether a cron expression runs at an instant, by brute force from Foundation's calendar in the zone.
struct CronOracle {
    var minute: RandomField
    var hour: RandomField
    var dayOfMonth: RandomField
    var month: RandomField
    var dayOfWeek: RandomField
    var calendar: Calendar

    var text: String { [minute, hour, dayOfMonth, month, dayOfWeek].map(\.text).joined(separator: " ") }

    /// Whether the wall clock at `date` matches every field (by the OR rule when both day fields are restricted).
    func matchesFields(_ date: Date) -> Bool {
        let clock = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: date)
        guard minute.values.contains(clock.minute!), hour.values.contains(clock.hour!),
            month.values.contains(clock.month!)
        else { return false }
        let monthLength = calendar.range(of: .day, in: .month, for: date)!.count
        let dayOfMonthMatches =
            dayOfMonth.values.contains(clock.day!) || (dayOfMonth.includesLast && clock.day! == monthLength)
        let dayOfWeekMatches = dayOfWeek.values.contains(clock.weekday! - 1)
        if dayOfMonth.isRestricted && dayOfWeek.isRestricted { return dayOfMonthMatches || dayOfWeekMatches }
        return dayOfMonthMatches && dayOfWeekMatches
    }

    /// Whether the expression runs at `date`: the fields match and the clock did not already show
    /// this minute in the three hours before (a repeat after falling back runs no second time).
    func runs(at date: Date) -> Bool {
        guard date.timeIntervalSince1970.truncatingRemainder(dividingBy: 60) == 0, matchesFields(date) else {
            return false
        }
        let fields: Set<Calendar.Component> = [.year, .month, .day, .hour, .minute]
        let wall = calendar.dateComponents(fields, from: date)
        return !(1...180).contains { calendar.dateComponents(fields, from: date - Double(60 * $0)) == wall }
    }
}

@Suite("Cron expressions, checked against brute force")
struct CronExpressionPropertyTests {
    /// A random start in 2000-2040, half of them within a day or so of a change of the zone's offset,
    /// half of those on a whole minute.
    static func randomStart(in zone: TimeZone, using random: inout SeededGenerator) -> Date {
        var start = Date(timeIntervalSince1970: Double(random.int(946_684_800...2_208_988_800)))
        if random.chance(0.5), let change = zone.nextDaylightSavingTimeTransition(after: start) {
            start = change + Double(random.int(-30 * 3600...6 * 3600))
        }
        if random.chance(0.5) {
            start = Date(timeIntervalSince1970: (start.timeIntervalSince1970 / 60).rounded(.down) * 60)
        }
        return start + (random.chance(0.2) ? Double(random.int(1...999)) / 1000 : 0)
    }

    static func calendar(_ zone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    @Test("daily expressions in zones with DST: the next run matches, is later, and no minute before it runs")
    func dailyExpressionsMinuteByMinute() throws {
        let zones = [
            "UTC", "America/Los_Angeles", "Europe/Berlin", "Australia/Sydney", "Australia/Lord_Howe",
            "America/Santiago", "America/St_Johns", "Asia/Kathmandu",
        ]
        let everyDay = RandomField(text: "*", values: Set(1...31))
        for seed in UInt64(0)..<200 {
            var random = SeededGenerator(seed: seed)
            let zone = try #require(TimeZone(identifier: zones.randomElement(using: &random)!))
            // Day fields that allow every day, written in the several ways that say so.
            var dayOfMonth = everyDay
            dayOfMonth.text = ["*", "*/1", "1-31"].randomElement(using: &random)!
            let month = RandomField(text: ["*", "1-12", "jan-DEC"].randomElement(using: &random)!, values: Set(1...12))
            let dayOfWeek = RandomField(
                text: ["*", "0-6", "sun-sat", "0-7", "*/1", "MON-SUN"].randomElement(using: &random)!,
                values: Set(0...6)
            )
            let oracle = CronOracle(
                minute: .random(0...59, using: &random),
                hour: .random(0...23, using: &random),
                dayOfMonth: dayOfMonth,
                month: month,
                dayOfWeek: dayOfWeek,
                calendar: Self.calendar(zone)
            )
            let cron = try CronExpression(parsing: oracle.text)
            #expect(try CronExpression(parsing: cron.description) == cron)
            var start = Self.randomStart(in: zone, using: &random)
            for _ in 0..<2 {
                let context = "seed \(seed): '\(oracle.text)' in \(zone.identifier) after \(start.formatted(.iso8601))"
                guard let next = cron.next(after: start, in: zone) else {
                    Issue.record("\(context): no next run")
                    break
                }
                #expect(next > start, "\(context)")
                #expect(next.timeIntervalSince(start) <= 50 * 3600, "\(context): \(next.formatted(.iso8601))")
                #expect(oracle.runs(at: next), "\(context): \(next.formatted(.iso8601)) does not match")
                var minute = Date(timeIntervalSince1970: ((start.timeIntervalSince1970 / 60).rounded(.down) + 1) * 60)
                while minute < next {
                    if oracle.runs(at: minute) {
                        Issue.record(
                            "\(context): runs at \(minute.formatted(.iso8601)), before \(next.formatted(.iso8601))"
                        )
                        break
                    }
                    minute += 60
                }
                start = next
            }
        }
    }

    @Test("day, month and weekday fields: the next run matches, is later, and no day before it runs")
    func dayFieldsDayByDay() throws {
        let zones = ["UTC", "Asia/Tokyo", "Asia/Kolkata", "America/Phoenix"]
        var checked = 0
        for seed in UInt64(1000)..<1250 {
            var random = SeededGenerator(seed: seed)
            let zone = try #require(TimeZone(identifier: zones.randomElement(using: &random)!))
            let (hour, minute) = (random.int(0...23), random.int(0...59))
            var dayOfMonth = RandomField.random(1...31, items: 1...2, using: &random)
            var dayOfWeek = RandomField.random(0...7, names: RandomField.dayNames, items: 1...2, using: &random)
            if random.chance(0.25) { dayOfMonth = RandomField(text: "*", values: Set(1...31)) }
            if random.chance(0.25) { dayOfWeek = RandomField(text: "*", values: Set(0...6)) }
            let oracle = CronOracle(
                minute: RandomField(text: "\(minute)", values: [minute]),
                hour: RandomField(text: "\(hour)", values: [hour]),
                dayOfMonth: dayOfMonth,
                month: .random(1...12, names: RandomField.monthNames, items: 1...2, using: &random),
                dayOfWeek: dayOfWeek,
                calendar: Self.calendar(zone)
            )
            let cron: CronExpression
            do {
                cron = try CronExpression(parsing: oracle.text)
            } catch {
                #expect(error.reason.contains("never falls in month"), "seed \(seed): \(error)")
                continue
            }
            checked += 1
            let start = Self.randomStart(in: zone, using: &random)
            let context = "seed \(seed): '\(oracle.text)' in \(zone.identifier) after \(start.formatted(.iso8601))"
            guard let next = cron.next(after: start, in: zone) else {
                Issue.record("\(context): no next run")
                continue
            }
            #expect(next > start, "\(context)")
            #expect(oracle.runs(at: next), "\(context): \(next.formatted(.iso8601)) does not match")
            // In a zone without offset changes the only possible runs are each day's hour:minute.
            let calendar = oracle.calendar
            var day = calendar.startOfDay(for: start)
            while day <= next {
                let candidate = calendar.date(bySettingHour: hour, minute: minute, second: 0, of: day)!
                if candidate > start && candidate < next && oracle.runs(at: candidate) {
                    Issue.record(
                        "\(context): runs at \(candidate.formatted(.iso8601)), before \(next.formatted(.iso8601))"
                    )
                    break
                }
                day = calendar.date(byAdding: .day, value: 1, to: day)!
            }
        }
        #expect(checked >= 200)
    }
}
