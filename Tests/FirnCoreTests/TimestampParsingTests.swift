import PropertyBased
import Testing

@testable import FirnCore

@Suite("Timestamp parsing")
struct TimestampParsingTests {
    static let accepted: [(String, Timestamp)] = [
        ("2026-11-24T10:15:30Z", Timestamp(year: 2026, month: 11, day: 24, hour: 10, minute: 15, second: 30)!),
        ("2026-11-24 10:15:30", Timestamp(year: 2026, month: 11, day: 24, hour: 10, minute: 15, second: 30)!),
        ("2026-11-24t10:15:30z", Timestamp(year: 2026, month: 11, day: 24, hour: 10, minute: 15, second: 30)!),
        (
            "2026-11-24 10:15:30.123456",
            Timestamp(year: 2026, month: 11, day: 24, hour: 10, minute: 15, second: 30, microsecond: 123_456)!
        ),
        (
            "2026-11-24T10:15:30.1+02:00",
            Timestamp(year: 2026, month: 11, day: 24, hour: 8, minute: 15, second: 30, microsecond: 100_000)!
        ),
        ("2026-11-24T10:15:30+0200", Timestamp(year: 2026, month: 11, day: 24, hour: 8, minute: 15, second: 30)!),
        ("2026-11-24T10:15:30+02", Timestamp(year: 2026, month: 11, day: 24, hour: 8, minute: 15, second: 30)!),
        ("2026-11-24T10:15:30-05:30", Timestamp(year: 2026, month: 11, day: 24, hour: 15, minute: 45, second: 30)!),
        ("2026-11-24", Timestamp(year: 2026, month: 11, day: 24)!),
        ("2024-02-29 00:00:00", Timestamp(year: 2024, month: 2, day: 29)!),
        (
            "2026-11-24 10:15:30.123456789",
            Timestamp(year: 2026, month: 11, day: 24, hour: 10, minute: 15, second: 30, microsecond: 123_456)!
        ),
        (
            "2026-11-24 10:15:30.000001Z",
            Timestamp(year: 2026, month: 11, day: 24, hour: 10, minute: 15, second: 30, microsecond: 1)!
        ),
        ("2026-01-01T00:30:00+01:00", Timestamp(year: 2025, month: 12, day: 31, hour: 23, minute: 30)!),
    ]

    @Test("accepts the ISO-8601 forms people write", arguments: accepted)
    func acceptsISOForms(text: String, expected: Timestamp) {
        #expect(Timestamp(parsing: text) == expected)
        let viaBytes = Array(text.utf8).withUnsafeBufferPointer { Timestamp(parsingUTF8: $0) }
        #expect(viaBytes == expected)
        #expect(Timestamp(parsing: text[...]) == expected)
    }

    @Test(
        "rejects anything else",
        arguments: [
            "", "2026", "2026-13-01", "2026-00-10", "2026-02-30", "2025-02-29", "2026-11-31", "2026-11-24 24:00:00",
            "2026-11-24 10:60:00", "2026-11-24 10:15:61", "garbage", "2026-11-24 10:15:30 junk", "2026-11-24x",
            "2026-11-24 10:15", "2026-11-24T10:15:30.", "2026-11-24T10:15:30.1234567890", "2026-11-24T10:15:30+2",
            "2026-11-24T10:15:30+02:", "2026-11-24T10:15:30+02:60", "2026-11-24T10:15:30+24:00",
            "2026-11-24T10:15:30ZZ", "2026/11/24", "26-11-24", " 2026-11-24", "2026-11-24 ", "2026-1-24",
            "+2026-11-24", "0000-01-01", "0001-01-01T00:00:00+01:00", "2026-11-24T10:15:30,5", "２０２６-11-24",
        ]
    )
    func rejectsAnythingElse(text: String) {
        #expect(Timestamp(parsing: text) == nil)
    }

    @Test("fraction digits beyond the sixth are truncated, not rounded")
    func fractionTruncated() {
        #expect(Timestamp(parsing: "2026-11-24 10:15:30.9999999")!.description == "2026-11-24 10:15:30.999999")
    }

    @Test("parsing the description gives the same timestamp")
    func roundTrip() async {
        let range = Timestamp.earliestParsable.microseconds...Timestamp.latestParsable.microseconds
        await propertyCheck(count: 500, input: Gen.int64(in: range)) { micros in
            let timestamp = Timestamp(microseconds: micros)
            #expect(Timestamp(parsing: timestamp.description) == timestamp)
        }
        for edge in [Timestamp.earliestParsable, .latestParsable, .openEnd, Timestamp(microseconds: 0)] {
            #expect(Timestamp(parsing: edge.description) == edge)
        }
    }

    @Test("instants beyond the text form's years are written as its nearest end, never trapping")
    func sentinelsDescribe() {
        #expect(Timestamp(microseconds: .min).description == "0001-01-01 00:00:00.000000")
        #expect(Timestamp(microseconds: .min + 1).description == "0001-01-01 00:00:00.000000")
        #expect(Timestamp(microseconds: .max).description == "9999-12-31 23:59:59.999999")
        #expect(Timestamp.latestParsable.description == "9999-12-31 23:59:59.999999")
    }
}
