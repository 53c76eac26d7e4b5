import Foundation

/// When a task runs: at a fixed interval, or at the times a cron expression names in a time zone.
///
/// Schedules are written as Snowflake writes a task's `SCHEDULE`, and a little more loosely:
///
/// - An interval: a whole number and a unit, `30 seconds`, `1 minute`, `5 MINUTES`, `2 hours`,
///   `1 day`. Units are `second`, `minute`, `hour`, `day`, their plurals and the short forms `sec`,
///   `s`, `min`, `m`, `hr`, `h`, `d`, in any case; the number and unit may be written together
///   (`5m`). A number alone counts minutes (`5` is `5 minutes`). Intervals are at least one second.
/// - A cron schedule: `USING CRON <expression> <time zone>`, as
///   `USING CRON 0 9 * * MON-FRI America/Los_Angeles`, or `CRON 0 9 * * 1-5 UTC`. The expression
///   is a ``CronExpression``; the time zone is an IANA name (`Europe/Berlin`, `UTC`; matched without
///   regard to case) and may be left out, unlike in Snowflake, for UTC.
///
/// ## Topics
///
/// - ``init(parsing:)``
/// - ``nextRun(after:)``
/// - ``ScheduleError``
public enum Schedule: Sendable, Hashable, CustomStringConvertible {
    /// Runs every `Duration`.
    ///
    /// Parsing makes intervals of at least one second; a shorter or non-positive one built directly
    /// counts as one second in ``nextRun(after:)``.
    case interval(Duration)
    /// Runs at the wall-clock times the expression matches in the time zone; see
    /// ``CronExpression/next(after:in:)`` for what happens when the zone's clock changes.
    case cron(CronExpression, timeZone: TimeZone)

    /// Parses a schedule as Snowflake writes it: `5 minutes` or `USING CRON 0 9 * * MON-FRI UTC`.
    ///
    /// Leading and trailing white space is ignored, and words may be separated by any white space.
    ///
    /// - Parameter text: The schedule.
    /// - Throws: ``ScheduleError`` quoting `text` and saying what is wrong: an unknown unit or time
    ///   zone, an interval under one second, or a cron field out of range.
    public init(parsing text: String) throws(ScheduleError) {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard let first = words.first?.lowercased() else {
            throw ScheduleError(text: text, reason: "schedule is empty; \(Self.example)")
        }
        switch first {
        case "using":
            guard words.count > 1, words[1].lowercased() == "cron" else {
                throw ScheduleError(text: text, reason: "expected CRON after USING, as in 'USING CRON 0 9 * * * UTC'")
            }
            self = try Self.parseCron(words.dropFirst(2), text: text)
        case "cron":
            self = try Self.parseCron(words.dropFirst(), text: text)
        default:
            self = .interval(try Self.parseInterval(words, text: text))
        }
    }

    /// The first time strictly after `date` at which the task runs.
    ///
    /// - For an interval: `date` plus the interval.
    /// - For a cron schedule: ``CronExpression/next(after:in:)`` in the schedule's time zone, or
    ///   `Date.distantFuture` when that finds no time (only for dates beyond any real use, or a zone
    ///   that skips every matching time).
    ///
    /// - Parameter date: The time after which to look, usually now or the previous run.
    /// - Returns: The next run, always later than `date`.
    public func nextRun(after date: Date) -> Date {
        switch self {
        case .interval(let interval):
            let (seconds, attoseconds) = interval.components
            return date.addingTimeInterval(max(Double(seconds) + Double(attoseconds) * 1e-18, 1))
        case .cron(let expression, let timeZone):
            return expression.next(after: date, in: timeZone) ?? .distantFuture
        }
    }

    /// The schedule written so that ``init(parsing:)`` reads it back: `5 minutes`, `1 day`,
    /// `USING CRON 0 9 * * MON-FRI America/Los_Angeles`.
    ///
    /// An interval is given in the largest unit that divides it; one with a fraction of a second
    /// (only when built directly) is written as `Duration` writes it and does not parse back.
    public var description: String {
        switch self {
        case .interval(let interval):
            let (seconds, attoseconds) = interval.components
            guard attoseconds == 0, seconds > 0 else { return "\(interval)" }
            let (count, unit) =
                Self.units.reversed().first { seconds % $0.seconds == 0 }
                .map { (seconds / $0.seconds, $0.name) } ?? (seconds, "second")
            return "\(count) \(unit)\(count == 1 ? "" : "s")"
        case .cron(let expression, let timeZone):
            // Foundation names UTC "GMT"; write it as Snowflake users write it.
            return "USING CRON \(expression) \(timeZone.identifier == "GMT" ? "UTC" : timeZone.identifier)"
        }
    }

    /// The units an interval may use, smallest first, with their spellings (lower case).
    private static let units: [(name: String, seconds: Int64, spellings: Set<String>)] = [
        ("second", 1, ["second", "seconds", "sec", "secs", "s"]),
        ("minute", 60, ["minute", "minutes", "min", "mins", "m"]),
        ("hour", 3600, ["hour", "hours", "hr", "hrs", "h"]),
        ("day", 86_400, ["day", "days", "d"]),
    ]

    /// The hint that ends messages about text that is not a schedule at all.
    private static let example =
        "write an interval such as '5 minutes' or a cron schedule such as "
        + "'USING CRON 0 9 * * MON-FRI America/Los_Angeles'"

    /// Parses `<number> [unit]` or `<number><unit>`.
    private static func parseInterval(_ words: [Substring], text: String) throws(ScheduleError) -> Duration {
        func fail(_ reason: String) -> ScheduleError { ScheduleError(text: text, reason: reason) }
        guard words.count <= 2 else {
            throw fail("an interval is a number and a unit, such as '5 minutes'; \(example)")
        }
        var numberText = words[0]
        var unitText = words.count == 2 ? words[1] : ""
        if words.count == 1, let letter = numberText.firstIndex(where: \.isLetter), letter != numberText.startIndex {
            (numberText, unitText) = (numberText[..<letter], numberText[letter...])
        }
        let digits = numberText.first == "-" || numberText.first == "+" ? numberText.dropFirst() : numberText
        let isInteger = !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
        let isDecimal =
            digits.contains { $0.isNumber } && digits.allSatisfy { ($0.isASCII && $0.isNumber) || $0 == "." }
        guard isInteger || (isDecimal && Double(numberText) != nil) else {
            throw fail("'\(words[0])' is not a number; \(example)")
        }
        // A number alone counts minutes, the unit of Snowflake's original `<num> MINUTE` form.
        let minutes = units[1]
        guard
            let unit = unitText.isEmpty ? minutes : units.first(where: { $0.spellings.contains(unitText.lowercased()) })
        else {
            throw fail("unknown interval unit '\(unitText)'; use seconds, minutes, hours or days")
        }
        guard isInteger else {
            let advice = unit.seconds == 1 ? "the shortest interval is 1 second" : "use a smaller unit"
            throw fail("interval \(numberText) is not a whole number of \(unit.name)s; \(advice)")
        }
        guard let number = Int64(numberText) else {
            throw fail("interval \(numberText) \(unit.name)s is too long")
        }
        guard number > 0 else {
            throw fail("interval \(numberText) \(unit.name)s is not positive; it must be at least 1 second")
        }
        let (seconds, overflow) = number.multipliedReportingOverflow(by: unit.seconds)
        guard !overflow else {
            throw fail("interval \(numberText) \(unit.name)s is too long")
        }
        return .seconds(seconds)
    }

    /// Parses what follows `USING CRON`: five fields and an optional time zone.
    private static func parseCron(_ words: ArraySlice<Substring>, text: String) throws(ScheduleError) -> Schedule {
        guard words.count == 5 || words.count == 6 else {
            throw ScheduleError(
                text: text,
                reason: "a cron schedule needs 5 fields (minute hour day-of-month month day-of-week) and a time "
                    + "zone, found \(words.count) word\(words.count == 1 ? "" : "s") after CRON"
            )
        }
        let timeZone = try words.count == 6 ? Self.timeZone(named: words.last!, text: text) : .gmt
        do {
            let expression = try CronExpression(parsing: words.prefix(5).joined(separator: " "))
            return .cron(expression, timeZone: timeZone)
        } catch {
            throw ScheduleError(text: text, reason: error.reason)
        }
    }

    /// Looks up a time zone by IANA name, exactly and then regardless of case.
    private static func timeZone(named name: Substring, text: String) throws(ScheduleError) -> TimeZone {
        if let zone = TimeZone(identifier: String(name)) { return zone }
        let lowercased = name.lowercased()
        let known = (["UTC", "GMT"] + TimeZone.knownTimeZoneIdentifiers).first { $0.lowercased() == lowercased }
        if let known, let zone = TimeZone(identifier: known) { return zone }
        var reason = "'\(name)' is not a known time zone; use an IANA name such as America/Los_Angeles or UTC"
        if looksLikeCronField(name) {
            reason += " (cron has 5 fields; seconds and year fields are not supported)"
        }
        throw ScheduleError(text: text, reason: reason)
    }
}

/// Whether a word is made of cron syntax (`0`, `*/5`, `MON-FRI`) rather than a misspelled time zone.
private func looksLikeCronField(_ word: Substring) -> Bool {
    let names = "SUN MON TUE WED THU FRI SAT JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC"
    var rest = word.uppercased()
    for name in names.split(separator: " ") { rest = rest.replacingOccurrences(of: name, with: "") }
    return rest.allSatisfy { "0123456789*,/-?#LW".contains($0) }
}

/// A schedule or cron expression that could not be parsed, with what is wrong in words a user can act on.
///
/// ``description`` puts the reason before the text:
/// `cron field 'hour' value 25 is out of range 0-23 in "0 25 * * *"`. A schedule's text holds no
/// secrets, so the description quotes it in full.
public struct ScheduleError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The text that was refused, as given: the whole schedule, or the cron expression when parsed
    /// alone with ``CronExpression/init(parsing:)``.
    public var text: String
    /// What is wrong, naming the field, word or value at fault: `unknown interval unit 'weeks'; use
    /// seconds, minutes, hours or days`.
    public var reason: String

    /// Creates an error from the refused text and the reason.
    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    /// The reason, then the quoted text.
    public var description: String { "\(reason) in \"\(text)\"" }
}
