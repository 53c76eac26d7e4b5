extension Timestamp {
    /// Parses an ISO-8601 timestamp as people write it in change files.
    ///
    /// Accepted forms (and nothing else):
    /// - a date alone, `2026-11-24`, meaning midnight UTC;
    /// - a date and a time separated by `T`, `t` or a space: `2026-11-24T10:15:30`,
    ///   `2026-11-24 10:15:30`;
    /// - optional fractional seconds of 1 to 9 digits after a `.` (`10:15:30.123456`), kept to the
    ///   microsecond: digits beyond the sixth are truncated;
    /// - an optional offset: `Z` or `z` (UTC), `+02:00`, `+0200`, `+02`, `-05:30`. No offset means UTC.
    ///
    /// Out-of-range fields (month 13, February 30, hour 24), missing parts, garbage and trailing
    /// text give `nil`. The canonical ``description`` parses back to the same value:
    /// `Timestamp(parsing: t.description) == t`.
    ///
    /// - Parameter text: The timestamp text, without surrounding spaces.
    public init?(parsing text: some StringProtocol) {
        let parsed =
            text.utf8.withContiguousStorageIfAvailable { Timestamp.parse($0) }
            ?? Array(text.utf8).withUnsafeBufferPointer { Timestamp.parse($0) }
        guard let parsed else { return nil }
        self = parsed
    }

    /// Parses an ISO-8601 timestamp from UTF-8 bytes, without creating a `String`.
    ///
    /// Accepts exactly the forms of ``init(parsing:)``.
    ///
    /// - Parameter bytes: The timestamp's UTF-8 bytes.
    public init?(parsingUTF8 bytes: UnsafeBufferPointer<UInt8>) {
        guard let parsed = Timestamp.parse(bytes) else { return nil }
        self = parsed
    }

    /// The latest instant whose ``description`` has a four-digit year: `9999-12-31 23:59:59.999999`.
    static let latestParsable = Timestamp(microseconds: Timestamp.openEnd.microseconds + 86_400_000_000 - 1)

    /// The earliest instant whose ``description`` parses back: `0001-01-01 00:00:00`.
    static let earliestParsable = Timestamp(year: 1, month: 1, day: 1)!

    static func parse(_ text: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        let count = text.count
        guard count >= 10 else { return nil }
        func number(_ start: Int, _ width: Int) -> Int? {
            guard start + width <= count else { return nil }
            var value = 0
            for index in start..<(start + width) {
                let digit = text[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int(digit)
            }
            return value
        }
        guard let year = number(0, 4), text[4] == UInt8(ascii: "-"), let month = number(5, 2),
            text[7] == UInt8(ascii: "-"), let day = number(8, 2)
        else { return nil }
        if count == 10 { return Timestamp(year: year, month: month, day: day) }
        let separator = text[10]
        guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " "),
            let hour = number(11, 2), count > 13, text[13] == UInt8(ascii: ":"), let minute = number(14, 2),
            count > 16, text[16] == UInt8(ascii: ":"), let second = number(17, 2)
        else { return nil }
        var index = 19
        var microsecond = 0
        if index < count, text[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < count, text[index] &- UInt8(ascii: "0") < 10, index - start < 9 {
                if index - start < 6 { microsecond = microsecond * 10 + Int(text[index] &- UInt8(ascii: "0")) }
                index += 1
            }
            let digits = index - start
            guard digits >= 1 else { return nil }
            for _ in digits..<max(digits, 6) { microsecond *= 10 }
        }
        var offsetMinutes = 0
        if index < count {
            switch text[index] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                index += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign = text[index] == UInt8(ascii: "-") ? -1 : 1
                guard let hours = number(index + 1, 2), hours <= 23 else { return nil }
                index += 3
                var minutes = 0
                if index < count {
                    if text[index] == UInt8(ascii: ":") { index += 1 }
                    guard let value = number(index, 2), value <= 59 else { return nil }
                    minutes = value
                    index += 2
                }
                offsetMinutes = sign * (hours * 60 + minutes)
            default:
                return nil
            }
        }
        guard index == count,
            let timestamp = Timestamp(
                year: year,
                month: month,
                day: day,
                hour: hour,
                minute: minute,
                second: second,
                microsecond: microsecond,
                offsetMinutes: offsetMinutes
            ),
            timestamp >= earliestParsable, timestamp <= latestParsable
        else { return nil }
        return timestamp
    }
}
