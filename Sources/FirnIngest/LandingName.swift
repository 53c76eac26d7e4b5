#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A landing file's name: the bytes the file system holds, and the text Firn records, logs and
/// builds object keys from.
///
/// Names on Linux are bytes; journal entries, object keys and log lines are text. A name that is
/// valid UTF-8 without control characters is its own text. Otherwise each byte that is not part
/// of a valid UTF-8 sequence, and each control character, is written `%XX` (`caf\xE9.csv` →
/// `caf%E9.csv`, a newline `%0A`), so such a file is taken like any other and its text says which
/// bytes were odd. `%` itself is not escaped: two files whose texts are equal are told apart by
/// the journal (a second content under a used key gets a key of its own).
struct LandingName: Hashable, Sendable, CustomStringConvertible {
    /// The name as the file system holds it (no `/`, no NUL).
    let bytes: [UInt8]
    /// The name as Firn writes it.
    let text: String

    /// A name read from the file system.
    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.text = Self.text(of: bytes)
    }

    /// A name given as text (valid UTF-8 by construction).
    init(_ text: String) {
        self.init(bytes: Array(text.utf8))
    }

    /// Whether the text differs from the bytes (some were escaped).
    var isEscaped: Bool { !text.utf8.elementsEqual(bytes) }

    var description: String { text }

    static func text(of bytes: [UInt8]) -> String {
        var text = ""
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        func escape(_ byte: UInt8) {
            let hex = String(byte, radix: 16, uppercase: true)
            text += "%" + (hex.count == 1 ? "0" + hex : hex)
        }
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    escape(UInt8(scalar.value))
                } else {
                    text.unicodeScalars.append(scalar)
                }
                offset += encoded.count
            case .error(let length):
                for byte in bytes[offset..<(offset + length)] { escape(byte) }
                offset += length
            case .emptyInput:
                return text
            }
        }
    }

    /// The longest name most Linux file systems allow, in bytes (`NAME_MAX`).
    static let maximumBytes = 255

    /// `name` with `suffix` before its extension (the last `.xyz`, unless the name starts with
    /// that dot or it is longer than half the limit), the part before the extension cut at a
    /// character boundary so that the whole is at most `limit` bytes of UTF-8:
    /// `fitted("a.csv", suffix: ".17")` is `a.17.csv`; a 255-byte `nnn….csv` with suffix `.17`
    /// loses three `n`s.
    static func fitted(_ name: String, suffix: String = "", toBytes limit: Int = maximumBytes) -> String {
        var stem = Substring(name)
        var fileExtension = Substring("")
        if let dot = name.lastIndex(of: "."), dot != name.startIndex, name.utf8[dot...].count <= limit / 2 {
            stem = name[..<dot]
            fileExtension = name[dot...]
        }
        var budget = limit - suffix.utf8.count - fileExtension.utf8.count
        guard name.utf8.count + suffix.utf8.count > limit else { return String(stem) + suffix + fileExtension }
        var kept = ""
        for character in stem {
            let size = character.utf8.count
            if size > budget { break }
            kept.append(character)
            budget -= size
        }
        return kept + suffix + fileExtension
    }

    /// Calls `body` with the NUL-terminated path of this name in `directory`.
    func withPath<T>(in directory: String, _ body: (UnsafePointer<CChar>) -> T) -> T {
        let path = Array(directory.utf8) + [UInt8(ascii: "/")] + bytes + [0]
        return path.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count, body)
        }
    }

    /// The names in `directory` (except `.` and `..`), as the file system holds them,
    /// or the reason the directory cannot be read.
    static func list(_ directory: String) -> Result<[LandingName], ListingError> {
        guard let stream = opendir(directory) else { return .failure(ListingError(code: errno)) }
        defer { closedir(stream) }
        var names: [LandingName] = []
        while let entry = readdir(stream) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
            names.append(LandingName(bytes: bytes))
        }
        return .success(names)
    }

    /// Why a directory could not be listed.
    struct ListingError: Error, CustomStringConvertible {
        let code: Int32
        var description: String { String(cString: strerror(code)) }
    }
}
