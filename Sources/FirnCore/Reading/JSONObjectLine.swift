/// A member value of a JSON Lines object, as far as a column needs it.
enum JSONMemberValue: Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case boolean(Bool)
    /// A number, as its exact text (`12.50` stays `12.50`).
    case number(String)
    /// A string, unescaped.
    case string(String)
    /// An object or an array, which no column takes.
    case nested
}

/// A strict parser (RFC 8259) for one line of JSON Lines that must be an object; nested values
/// are validated but not kept.
struct JSONObjectLine {
    /// The object's members, in order.
    private(set) var members: [(name: String, value: JSONMemberValue)] = []

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Parses a line (without its line ending).
    ///
    /// - Returns: The members, or the reason the line is not a JSON object.
    static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>
    ) -> Result<[(name: String, value: JSONMemberValue)], FieldValueError> {
        var parser = JSONObjectLine(bytes: bytes)
        do throws(FieldValueError) {
            try parser.parseLine()
            return .success(parser.members)
        } catch {
            return .failure(error)
        }
    }

    private mutating func parseLine() throws(FieldValueError) {
        skipWhitespace()
        guard peek == UInt8(ascii: "{") else {
            if index < bytes.count, (try? parseValue(depth: 0)) != nil {
                skipWhitespace()
                if index == bytes.count { throw FieldValueError(reason: "line is JSON but not an object") }
            }
            throw FieldValueError(reason: "line is not a JSON object")
        }
        index += 1
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                guard peek == UInt8(ascii: "\"") else { throw invalid("expected a member name in double quotes") }
                let name = try parseString()
                skipWhitespace()
                guard peek == UInt8(ascii: ":") else { throw invalid("expected : after member \"\(name)\"") }
                index += 1
                let value = try parseValue(depth: 1)
                members.append((name, value))
                skipWhitespace()
                if peek == UInt8(ascii: ",") {
                    index += 1
                } else if peek == UInt8(ascii: "}") {
                    index += 1
                    break
                } else {
                    throw invalid("expected , or } after member \"\(name)\"")
                }
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw invalid("text after the object") }
    }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func invalid(_ what: String) -> FieldValueError {
        FieldValueError(reason: "invalid JSON at byte \(index + 1): \(what)")
    }

    private mutating func skipWhitespace() {
        while let byte = peek,
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
                || byte == UInt8(ascii: "\n")
        {
            index += 1
        }
    }

    private mutating func parseValue(depth: Int) throws(FieldValueError) -> JSONMemberValue {
        skipWhitespace()
        guard let byte = peek else { throw invalid("expected a value") }
        switch byte {
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipContainer(depth: depth)
            return .nested
        case UInt8(ascii: "t"):
            try expectWord("true")
            return .boolean(true)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return .boolean(false)
        case UInt8(ascii: "n"):
            try expectWord("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw invalid("unexpected character")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws(FieldValueError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count,
            word.withUTF8Buffer({ $0.elementsEqual(bytes[index..<(index + count)]) })
        else { throw invalid("unexpected word") }
        index += count
    }

    private mutating func skipContainer(depth: Int) throws(FieldValueError) {
        guard depth < 64 else { throw invalid("nested more than 64 levels deep") }
        let isObject = bytes[index] == UInt8(ascii: "{")
        let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        index += 1
        skipWhitespace()
        if peek == close {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            if isObject {
                guard peek == UInt8(ascii: "\"") else { throw invalid("expected a member name in double quotes") }
                _ = try parseString()
                skipWhitespace()
                guard peek == UInt8(ascii: ":") else { throw invalid("expected :") }
                index += 1
            }
            _ = try parseValue(depth: depth + 1)
            skipWhitespace()
            if peek == UInt8(ascii: ",") {
                index += 1
            } else if peek == close {
                index += 1
                return
            } else {
                throw invalid(isObject ? "expected , or }" : "expected , or ]")
            }
        }
    }

    private mutating func parseNumber() throws(FieldValueError) -> String {
        let start = index
        func digits() -> Int {
            let first = index
            while let byte = peek, byte &- UInt8(ascii: "0") < 10 { index += 1 }
            return index - first
        }
        if peek == UInt8(ascii: "-") { index += 1 }
        if peek == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            throw invalid("expected a digit")
        }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw invalid("expected a digit after .") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw invalid("expected a digit in the exponent") }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func parseString() throws(FieldValueError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes.
        while let byte = peek, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 { index += 1 }
        if peek == UInt8(ascii: "\"") {
            defer { index += 1 }
            return try validated(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        }
        var out = Array(bytes[start..<index])
        while true {
            guard let byte = peek else { throw invalid("unterminated string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return try out.withUnsafeBufferPointer { buffer throws(FieldValueError) in try validated(buffer) }
            case UInt8(ascii: "\\"):
                guard let escape = peek else { throw invalid("unterminated string") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                        else { throw invalid("unpaired surrogate in \\u escape") }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw invalid("unpaired surrogate in \\u escape") }
                        scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else {
                        throw invalid("unpaired surrogate in \\u escape")
                    }
                    out.append(contentsOf: String(Character(unicode)).utf8)
                default:
                    throw invalid("unknown escape \\\(Character(Unicode.Scalar(escape)))")
                }
            default:
                guard byte >= 0x20 else { throw invalid("control character in a string") }
                out.append(byte)
            }
        }
    }

    private mutating func hex4() throws(FieldValueError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw invalid("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw invalid("bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private func validated(_ buffer: UnsafeBufferPointer<UInt8>) throws(FieldValueError) -> String {
        guard let text = String(validating: buffer, as: UTF8.self) else { throw invalid("invalid UTF-8 in a string") }
        return text
    }
}
