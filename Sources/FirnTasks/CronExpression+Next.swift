import Foundation

extension CronExpression {
    /// The first time strictly after `date` at which the expression matches the wall clock of `timeZone`.
    ///
    /// The expression is a set of wall-clock minutes in `timeZone` (`0 9 * * MON-FRI` is 09:00 on
    /// weekdays, whatever the offset from UTC that day). Runs are at second 0 of a matching minute.
    /// Around changes of the zone's offset (daylight saving time):
    ///
    /// - A wall-clock time that does not exist, because the clock jumps forward over it, is
    ///   skipped: `30 2 * * *` in America/Los_Angeles does not run on the day clocks go from 02:00
    ///   to 03:00, and the next run is 02:30 the day after.
    /// - A wall-clock time that happens twice, because the clock falls back, runs once, at its first
    ///   occurrence (the earlier instant, still on daylight time). This holds for every expression:
    ///   `*/30 * * * *` runs at 01:00 and 01:30 on daylight time and then at 02:00 standard time,
    ///   leaving the repeated hour out.
    ///
    /// So each day runs the matching wall-clock times that exist on it, each once, and an offset
    /// change never adds or moves a run. Civil dates are Foundation's Gregorian calendar; offsets
    /// are `timeZone`'s, including historical ones.
    ///
    /// - Parameters:
    ///   - date: The time after which to look; a time equal to `date` is not returned.
    ///   - timeZone: The zone whose wall clock the fields describe.
    /// - Returns: The next run, or `nil` when there is none within 400 years of `date` (an expression
    ///   that parses always runs within that, unless the zone skips every matching time) or `date` is
    ///   not a finite time within a million years of 1970.
    public func next(after date: Date, in timeZone: TimeZone) -> Date? {
        let after = date.timeIntervalSince1970
        guard after.isFinite, abs(after) < 3e13 else { return nil }
        let afterSecond = Int(after.rounded(.down))
        // Wall times before the one at `date` have all been shown already (or skipped) unless the
        // clock once jumped forward over them and will fall back onto them, which no zone does.
        let wallNow = afterSecond + timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(afterSecond)))

        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(secondsFromGMT: 0)!
        let start = utc.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(wallNow)))
        guard var year = start.year, var month = start.month, var firstDay = start.day else { return nil }
        let hourList = Self.members(of: hours, in: 0...23)
        let minuteList = Self.members(of: minutes, in: 0...59)

        for _ in 0..<(401 * 12) {
            defer {
                firstDay = 1
                month = month == 12 ? 1 : month + 1
                year += month == 1 ? 1 : 0
            }
            guard months & (1 << month) != 0,
                let monthStart = utc.date(from: DateComponents(year: year, month: month, day: 1)),
                let monthLength = utc.range(of: .day, in: .month, for: monthStart)?.count
            else { continue }
            let monthStartWall = Int(monthStart.timeIntervalSince1970)
            let firstWeekday = utc.component(.weekday, from: monthStart) - 1  // 0 is Sunday
            for day in firstDay...monthLength {
                guard matches(day: day, monthLength: monthLength, weekday: (firstWeekday + day - 1) % 7) else {
                    continue
                }
                let dayWall = monthStartWall + (day - 1) * 86_400
                for hour in hourList {
                    for minute in minuteList {
                        let wall = dayWall + hour * 3600 + minute * 60
                        guard wall >= wallNow, let instant = Self.firstInstant(ofWall: wall, in: timeZone),
                            Double(instant) > after
                        else { continue }
                        return Date(timeIntervalSince1970: Double(instant))
                    }
                }
            }
        }
        return nil
    }

    /// Whether a day's fields match: the day of month and day of week combine by the OR rule when both
    /// fields are restricted, by AND otherwise.
    func matches(day: Int, monthLength: Int, weekday: Int) -> Bool {
        let dayOfMonthMatches = daysOfMonth & (1 << day) != 0 || (includesLastDayOfMonth && day == monthLength)
        let dayOfWeekMatches = daysOfWeek & (1 << weekday) != 0
        if isDayOfMonthRestricted && isDayOfWeekRestricted {
            return dayOfMonthMatches || dayOfWeekMatches
        }
        return dayOfMonthMatches && dayOfWeekMatches
    }

    /// The values whose bits are set, ascending.
    static func members(of bits: UInt64, in range: ClosedRange<Int>) -> [Int] {
        range.filter { bits & (1 << $0) != 0 }
    }

    /// The earliest instant (seconds since 1970) at which `timeZone`'s clock shows `wall` (a local
    /// time as seconds since 1970-01-01 00:00 local), or `nil` when the clock skips it.
    ///
    /// An instant `t` shows `wall` when `t + offset(t) == wall`. Offsets run from UTC-12 to UTC+14,
    /// so `t` lies within 15 hours of `wall`; the offsets in force at both ends of that window and in
    /// its middle are the candidates (enough for one offset change in 30 hours).
    static func firstInstant(ofWall wall: Int, in timeZone: TimeZone) -> Int? {
        func offset(at instant: Int) -> Int {
            timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant)))
        }
        let candidates = [offset(at: wall - 15 * 3600), offset(at: wall), offset(at: wall + 15 * 3600)]
        var first: Int?
        for (index, candidate) in candidates.enumerated() where !candidates[..<index].contains(candidate) {
            let instant = wall - candidate
            if offset(at: instant) == candidate { first = min(first ?? instant, instant) }
        }
        return first
    }
}
