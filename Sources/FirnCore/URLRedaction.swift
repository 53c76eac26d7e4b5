/// Hides the secrets a URL may carry, so that URLs (and text that quotes them) can be printed,
/// logged, stored in a table or put in an error.
///
/// Two kinds of secret are replaced by `***`:
/// - user info: everything between `scheme://` and the host's `@` (`postgres://firn:pw@db/x`
///   becomes `postgres://***@db/x`), including a password that holds `/` (`s3://KEY:a/b@bucket`;
///   then an `@` later in the URL's path hides the path before it too);
/// - the value of a query parameter whose name looks secret: it contains `password`, `passwd`,
///   `secret`, `token`, `signature`, `credential`, `apikey`, `api_key` or `auth`, or it is `sig`,
///   `pwd`, `pass` or `key` (`X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`…).
///
/// Percent-encoded separators count as the characters they encode, so a URL nested in another
/// one's query (`?endpoint=http%3A%2F%2Fuser%3Apw%40host`) is redacted too. The text may be a
/// URL, a malformed one, or a message quoting several: nothing is parsed strictly, and when in
/// doubt more is hidden rather than less.
///
/// Every place that formats a URL for people or storage goes through ``redacted(_:)``.
public enum URLRedaction {
    /// What replaces a secret.
    public static let mask = "***"

    /// `text` with user info and secret-looking query values replaced by `***`.
    ///
    /// - Parameter text: A URL, or any text quoting URLs.
    /// - Returns: The text with every secret replaced; text without secrets is returned unchanged.
    public static func redacted(_ text: String) -> String {
        guard
            text.contains("@") || text.contains("%40") || text.contains("=") || text.contains("%3D")
                || text.contains("%3d")
        else { return text }
        let units = Unit.split(text)
        var hidden = [Bool](repeating: false, count: units.count)
        markUserInfo(units, &hidden)
        markSecretParameters(units, &hidden)
        guard hidden.contains(true) else { return text }
        var result = ""
        var index = 0
        while index < units.count {
            if hidden[index] {
                result += mask
                while index < units.count && hidden[index] { index += 1 }
            } else {
                result += units[index].original
                index += 1
            }
        }
        return result
    }

    /// Whether text holds user info (`scheme://user[:password]@`) anywhere.
    public static func containsUserInfo(_ text: String) -> Bool {
        let units = Unit.split(text)
        var hidden = [Bool](repeating: false, count: units.count)
        markUserInfo(units, &hidden)
        return hidden.contains(true)
    }

    /// Whether a query parameter of this name holds a secret by its name.
    public static func isSecretParameter(_ name: String) -> Bool {
        let name = name.lowercased()
        if ["sig", "pwd", "pass", "key"].contains(name) { return true }
        return ["password", "passwd", "secret", "token", "signature", "credential", "apikey", "api_key", "auth"]
            .contains { name.contains($0) }
    }

    /// One character of the text, or one `%XX` escape, with the character it stands for.
    struct Unit {
        var original: Substring
        var decoded: Character

        static func split(_ text: String) -> [Unit] {
            var units: [Unit] = []
            var index = text.startIndex
            while index < text.endIndex {
                let next = text.index(after: index)
                if text[index] == "%", let end = text.index(next, offsetBy: 2, limitedBy: text.endIndex),
                    let byte = UInt8(text[next..<end], radix: 16), byte < 0x80
                {
                    units.append(Unit(original: text[index..<end], decoded: Character(Unicode.Scalar(byte))))
                    index = end
                } else {
                    units.append(Unit(original: text[index..<next], decoded: text[index]))
                    index = next
                }
            }
            return units
        }
    }

    /// Characters that end a URL's authority or a query value inside running text.
    static func endsValue(_ character: Character) -> Bool {
        character.isWhitespace || "\"'<>`&#".contains(character)
    }

    /// Marks everything between `://` and the last `@` before the authority's end.
    static func markUserInfo(_ units: [Unit], _ hidden: inout [Bool]) {
        var index = 0
        while index + 2 < units.count {
            guard units[index].decoded == ":", units[index + 1].decoded == "/", units[index + 2].decoded == "/" else {
                index += 1
                continue
            }
            let start = index + 3
            var end = start
            var at: Int?
            var sawColon = false
            // The authority ends at `/`, unless a `:` came first: a password may hold `/`.
            while end < units.count, !endsValue(units[end].decoded), units[end].decoded != "?" {
                let character = units[end].decoded
                if character == "/" && !sawColon { break }
                if character == ":" { sawColon = true }
                if character == "@" { at = end }
                end += 1
            }
            if let at, at > start {
                for position in start..<at { hidden[position] = true }
            }
            index = start
        }
    }

    /// Marks the value of every `?name=value` or `&name=value` whose name looks secret.
    static func markSecretParameters(_ units: [Unit], _ hidden: inout [Bool]) {
        for index in units.indices where units[index].decoded == "?" || units[index].decoded == "&" {
            var equals = index + 1
            var name = ""
            while equals < units.count, units[equals].decoded != "=", !endsValue(units[equals].decoded),
                units[equals].decoded != "?"
            {
                name.append(units[equals].decoded)
                equals += 1
            }
            guard equals < units.count, units[equals].decoded == "=", !name.isEmpty, isSecretParameter(name) else {
                continue
            }
            var end = equals + 1
            while end < units.count, !endsValue(units[end].decoded) { end += 1 }
            for position in (equals + 1)..<end { hidden[position] = true }
        }
    }
}
