/// A five-field cron expression: minute, hour, day of month, month and day of week.
///
/// The syntax is classic cron's, as Snowflake's `SCHEDULE = 'USING CRON …'` uses it:
///
/// | field        | values                    | names     |
/// |--------------|---------------------------|-----------|
/// | minute       | 0-59                      |           |
/// | hour         | 0-23                      |           |
/// | day of month | 1-31, or `L`              |           |
/// | month        | 1-12                      | `JAN-DEC` |
/// | day of week  | 0-7 (0 and 7 are Sunday)  | `SUN-SAT` |
///
/// Each field is `*` or a comma-separated list of items; an item is a value (`5`, `MON`), a range
/// (`1-5`, `MON-FRI`), or either of those or `*` followed by a step (`*/15`, `10-50/20`). A value
/// with a step runs to the end of the field (`4/3` in the month field is April, July and October,
/// as in Snowflake). Names are case-insensitive. A range must not go backwards (`22-2` is refused),
/// except that a day-of-week range may end at `SUN` (`SAT-SUN` is Saturday and Sunday). `L` in the
/// day of month is the last day of the month and may stand in a list (`1,15,L`).
///
/// Day of month and day of week combine as classic (Vixie) cron combines them: when both fields
/// are restricted, a day matches if *either* matches (`0 0 13 * FRI` runs on every 13th and on
/// every Friday); otherwise a day must match both. A field counts as unrestricted when it starts
/// with `*`, so `*/2` is unrestricted too: `0 0 */2 * MON` runs on odd-numbered days that are Mondays.
///
/// Not supported, and refused with an error saying so: seconds and year fields, `?`, `W`, `#`,
/// `L` in the day of week (`5L`, Snowflake's "last Friday"), `L` with an offset (`L-2`), and
/// macros such as `@daily`. An expression that can never run (`0 0 30 2 *`) is refused too, so
/// every parsed expression runs at some time.
///
/// Two expressions are equal when their ``description`` is equal: the same fields written the same
/// way. `0 9 * * MON-FRI` and `0 9 * * 1-5` run at the same times but are not equal.
///
/// ## Topics
///
/// - ``init(parsing:)``
/// - ``next(after:in:)``
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as parsed: fields separated by single spaces, letters in upper case.
    public let description: String

    /// Bit `n` set when minute `n` matches.
    let minutes: UInt64
    /// Bit `n` set when hour `n` matches.
    let hours: UInt64
    /// Bit `n` set when day of month `n` (1-31) matches.
    let daysOfMonth: UInt64
    /// Whether `L` is in the day-of-month field: the last day of each month matches.
    let includesLastDayOfMonth: Bool
    /// Bit `n` set when month `n` (1-12) matches.
    let months: UInt64
    /// Bit `n` set when day of week `n` (0 is Sunday, 6 Saturday) matches.
    let daysOfWeek: UInt64
    /// Whether the day-of-month field does not start with `*`.
    let isDayOfMonthRestricted: Bool
    /// Whether the day-of-week field does not start with `*`.
    let isDayOfWeekRestricted: Bool

    /// Parses a five-field cron expression.
    ///
    /// Fields are separated by any amount of white space; leading and trailing space is ignored.
    ///
    /// - Parameter text: The expression, such as `*/15 * * * *` or `0 9 * * MON-FRI`.
    /// - Throws: ``ScheduleError`` naming the field and the value at fault, for example
    ///   `cron field 'hour' value 25 is out of range 0-23 in "0 25 * * *"`.
    public init(parsing text: String) throws(ScheduleError) {
        let fields = text.split(whereSeparator: \.isWhitespace).map { $0.uppercased() }
        func fail(_ reason: String) -> ScheduleError { ScheduleError(text: text, reason: reason) }
        guard fields.count == 5 else {
            let found = fields.count == 1 ? "1 field" : "\(fields.count) fields"
            var reason = "cron expression has \(found); it needs 5 (minute hour day-of-month month day-of-week)"
            if fields.first?.hasPrefix("@") == true {
                reason += "; macros such as @daily are not supported, write 0 0 * * * instead"
            } else if fields.count == 6 || fields.count == 7 {
                reason += "; seconds and year fields are not supported"
            }
            throw fail(reason)
        }
        let selections: [CronField.Selection]
        do {
            selections = try zip(CronField.all, fields).map { (field, fieldText) throws(CronField.Problem) in
                try field.parse(fieldText)
            }
        } catch {
            throw fail(error.reason)
        }
        let (minute, hour, dayOfMonth, month, dayOfWeek) =
            (selections[0], selections[1], selections[2], selections[3], selections[4])

        description = fields.joined(separator: " ")
        minutes = minute.values
        hours = hour.values
        daysOfMonth = dayOfMonth.values
        includesLastDayOfMonth = dayOfMonth.includesLast
        months = month.values
        daysOfWeek = dayOfWeek.values
        isDayOfMonthRestricted = !fields[2].hasPrefix("*")
        isDayOfWeekRestricted = !fields[4].hasPrefix("*")

        // Only a restricted day of month with an unrestricted day of week can rule out every day:
        // a restricted day of week alone, or with the OR rule, matches some day of every month.
        if isDayOfMonthRestricted && !isDayOfWeekRestricted && !includesLastDayOfMonth {
            let longestMonth = (1...12).filter { months & (1 << $0) != 0 }.map { Self.longestLength(ofMonth: $0) }.max()
            let firstDay = (1...31).first { daysOfMonth & (1 << $0) != 0 }
            if let longestMonth, let firstDay, firstDay > longestMonth {
                throw fail(
                    "cron day-of-month \(fields[2]) never falls in month \(fields[3]), so the schedule would never run"
                )
            }
        }
    }

    /// The most days month `month` (1-12) can have: February has 29 in leap years.
    static func longestLength(ofMonth month: Int) -> Int {
        switch month {
        case 2: 29
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// One of the five fields: its name for messages, its values and its names.
private struct CronField {
    /// Why a field's text was refused, without the expression (the caller adds it).
    struct Problem: Error {
        var reason: String
    }

    /// The values a field's text selects, as a bit set, and whether it holds `L`.
    struct Selection {
        var values: UInt64 = 0
        var includesLast = false
    }

    /// The field's name in messages: `minute`, `day-of-week`.
    var name: String
    /// The values an item may name; day of week allows 7 for Sunday.
    var range: ClosedRange<Int>
    /// The values `*` stands for (day of week: 0-6).
    var starRange: ClosedRange<Int>
    /// Three-letter names of the values from `range.lowerBound`, upper case; empty for numeric fields.
    var names: [String] = []
    /// What the names are called in messages: `month name (JAN-DEC)`.
    var namesDescription: String = ""

    static let all: [CronField] = [
        CronField(name: "minute", range: 0...59, starRange: 0...59),
        CronField(name: "hour", range: 0...23, starRange: 0...23),
        CronField(name: "day-of-month", range: 1...31, starRange: 1...31),
        CronField(
            name: "month",
            range: 1...12,
            starRange: 1...12,
            names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
            namesDescription: "month name (JAN-DEC)"
        ),
        CronField(
            name: "day-of-week",
            range: 0...7,
            starRange: 0...6,
            names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
            namesDescription: "day name (SUN-SAT)"
        ),
    ]

    private var isDayOfMonth: Bool { name == "day-of-month" }
    private var isDayOfWeek: Bool { name == "day-of-week" }

    /// Parses one field's text (upper case).
    func parse(_ text: String) throws(Problem) -> Selection {
        var selection = Selection()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            if item.isEmpty {
                throw Problem(reason: "cron field '\(name)' has an empty item in the list '\(text)'")
            }
            if item == "L" && isDayOfMonth {
                selection.includesLast = true
                continue
            }
            try checkSupported(item)
            selection.values |= try parseItem(item)
        }
        return selection
    }

    /// Refuses syntax of other crons that Firn does not support, saying which.
    private func checkSupported(_ item: Substring) throws(Problem) {
        let quoted = "cron field '\(name)' item '\(item)'"
        if item.contains("?") {
            throw Problem(reason: "\(quoted): '?' is not supported; use '*'")
        }
        if item.contains("#") {
            throw Problem(reason: "\(quoted): '#' (nth weekday of the month) is not supported")
        }
        for word in item.split(whereSeparator: { !$0.isLetter }) where !names.contains(String(word)) {
            if word == "W" || word == "LW" {
                throw Problem(reason: "\(quoted): 'W' (nearest weekday) is not supported")
            }
            guard word == "L" else { continue }
            if isDayOfWeek {
                throw Problem(reason: "\(quoted): 'L' (last weekday of the month) is not supported")
            }
            if isDayOfMonth {
                throw Problem(
                    reason: "\(quoted): 'L' stands alone for the last day of the month; "
                        + "offsets, ranges and steps with it are not supported"
                )
            }
            throw Problem(reason: "\(quoted): 'L' is only allowed in the day-of-month field")
        }
    }

    /// Parses an item without commas: `*`, `5`, `1-5`, `MON-FRI`, `*/15`, `10-50/20`, `4/3`.
    private func parseItem(_ item: Substring) throws(Problem) -> UInt64 {
        let parts = item.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw Problem(reason: "cron field '\(name)' item '\(item)' has more than one '/'")
        }
        var step = 1
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw Problem(reason: "cron field '\(name)' step '\(parts[1])' in '\(item)' is not a number")
            }
            step = Int(parts[1]) ?? .max
            guard step >= 1 else {
                throw Problem(reason: "cron field '\(name)' step \(step) in '\(item)' must be at least 1")
            }
        }
        let lower: Int
        var upper: Int
        if parts[0] == "*" {
            (lower, upper) = (starRange.lowerBound, starRange.upperBound)
        } else {
            let bounds = parts[0].split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count <= 2, !bounds.contains(where: \.isEmpty) else {
                throw Problem(
                    reason: "cron field '\(name)' item '\(item)' is not '*', a value or a range such as 1-5"
                )
            }
            lower = try value(bounds[0])
            if bounds.count == 2 {
                upper = try value(bounds[1])
                // `SAT-SUN`, `FRI-SUN`: a range from another day to Sunday's name ends at Sunday as 7.
                if isDayOfWeek && bounds[1] == "SUN" && lower > 0 { upper = 7 }
                guard lower <= upper else {
                    throw Problem(
                        reason: "cron field '\(name)' range \(parts[0]) goes backwards; split it, as in "
                            + "\(lower)-\(range.upperBound),\(range.lowerBound)-\(upper)"
                    )
                }
            } else {
                // A value with a step runs to the end of the field (`4/3`); `7/2` in the day of week is Sunday.
                upper = parts.count == 2 ? max(lower, starRange.upperBound) : lower
            }
        }
        var values: UInt64 = 0
        for value in stride(from: lower, through: upper, by: step) {
            values |= 1 << (isDayOfWeek ? value % 7 : value)
        }
        return values
    }

    /// Parses a number or a name and checks it is in range.
    private func value(_ text: Substring) throws(Problem) -> Int {
        if let index = names.firstIndex(of: String(text)) {
            return range.lowerBound + index
        }
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            let expected = names.isEmpty ? "a number" : "a number or a \(namesDescription)"
            throw Problem(reason: "cron field '\(name)' value '\(text)' is not \(expected)")
        }
        let number = Int(text) ?? .max
        guard range.contains(number) else {
            throw Problem(
                reason: "cron field '\(name)' value \(text) is out of range \(range.lowerBound)-\(range.upperBound)"
            )
        }
        return number
    }
}
