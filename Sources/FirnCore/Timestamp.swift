#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An instant in UTC with microsecond precision: event times, version boundaries, load times.
///
/// Firn stores timestamps as text in one fixed form, `YYYY-MM-DD HH:MM:SS.ffffff` (see
/// ``description``), which sorts correctly as text and reads naturally in `firn query`.
/// Parsing accepts the ISO-8601 forms people write (see ``init(parsing:)``).
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since 1970-01-01 00:00:00 UTC.
    public var microseconds: Int64

    /// Creates a timestamp from microseconds since the Unix epoch.
    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    /// The end of an open version: `9999-12-31 00:00:00`, the seed's convention.
    public static let openEnd = Timestamp(year: 9999, month: 12, day: 31)!

    /// The current time, from the system clock.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microseconds: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }

    /// Creates a timestamp from civil UTC fields; `nil` when a field is out of range.
    public init?(
        year: Int,
        month: Int,
        day: Int,
        hour: Int = 0,
        minute: Int = 0,
        second: Int = 0,
        microsecond: Int = 0,
        offsetMinutes: Int = 0
    ) {
        guard (1...9999).contains(year), (1...12).contains(month), (1...31).contains(day),
            day <= Timestamp.daysIn(month: month, year: year),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
            (0...999_999).contains(microsecond)
        else { return nil }
        let days = Int64(Timestamp.daysFromCivil(year: year, month: month, day: day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        self.microseconds = seconds * 1_000_000 + Int64(microsecond)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microseconds < rhs.microseconds
    }

    /// The canonical text form, `YYYY-MM-DD HH:MM:SS.ffffff`, always 26 characters.
    public var description: String {
        // One allocation (the string's own): this runs several times per record applied.
        String(unsafeUninitializedCapacity: Timestamp.textLength) { write(into: $0) }
    }

    /// The length of the canonical text form: 26 bytes.
    public static let textLength = 26

    /// Writes the canonical text form into `out` (at least ``textLength`` bytes) without
    /// allocating; returns the number of bytes written. An instant before year 1 or after
    /// year 9999 (only sentinels are: parsing refuses them) is written as the nearest end of
    /// that range rather than in a form that would not sort or parse.
    @discardableResult
    public func write(into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let clamped = Swift.min(
            Swift.max(microseconds, Timestamp.earliestParsable.microseconds),
            Timestamp.latestParsable.microseconds
        )
        let (days, micros) = clamped.floorDivided(by: 86_400_000_000)
        let (year, month, day) = Timestamp.civilFromDays(Int(days))
        let secondsOfDay = Int(micros / 1_000_000)
        let fraction = Int(micros % 1_000_000)
        func put(_ value: Int, width: Int, at start: Int) {
            var rest = value
            for index in stride(from: start + width - 1, through: start, by: -1) {
                out[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
        }
        put(year, width: 4, at: 0)
        out[4] = UInt8(ascii: "-")
        put(month, width: 2, at: 5)
        out[7] = UInt8(ascii: "-")
        put(day, width: 2, at: 8)
        out[10] = UInt8(ascii: " ")
        put(secondsOfDay / 3600, width: 2, at: 11)
        out[13] = UInt8(ascii: ":")
        put(secondsOfDay / 60 % 60, width: 2, at: 14)
        out[16] = UInt8(ascii: ":")
        put(secondsOfDay % 60, width: 2, at: 17)
        out[19] = UInt8(ascii: ".")
        put(fraction, width: 6, at: 20)
        return Timestamp.textLength
    }

    /// The timestamp as a stored ``Value`` (its canonical text).
    public var value: Value { .text(description) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z: Int) -> (year: Int, month: Int, day: Int) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var quotient = self / divisor
        var remainder = self % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }
}
