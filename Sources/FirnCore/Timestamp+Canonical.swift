extension Timestamp {
    /// Parses Firn's stored form `YYYY-MM-DD HH:MM:SS[.ffffff]` quickly (fixed positions);
    /// `nil` for anything else. For input files use the general ISO-8601 parser instead.
    public init?(canonical text: String) {
        var text = text
        guard let value = text.withUTF8({ Timestamp(canonicalUTF8: $0) }) else { return nil }
        self = value
    }

    /// Parses Firn's stored form from UTF-8 bytes (see ``init(canonical:)``).
    public init?(canonicalUTF8 bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 19 || bytes.count == 26 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for index in from..<(from + count) {
                let digit = Int(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: " "),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var micro = 0
        if bytes.count == 26 {
            guard bytes[19] == UInt8(ascii: "."), let fraction = number(20, 6) else { return nil }
            micro = fraction
        }
        self.init(year: year, month: month, day: day, hour: hour, minute: minute, second: second, microsecond: micro)
    }
}
