import FirnCore
import Testing

/// `Value` equality and hashing: text compares by its UTF-8 bytes, as SQL compares it.
@Suite struct ValueTests {
    static let texts = [
        "", "a", "b", "ab", "Zo\u{EB}", "Zoe\u{308}", "東京", "東京都", String(repeating: "x", count: 15),
        String(repeating: "x", count: 16), String(repeating: "x", count: 200), String(repeating: "x", count: 199) + "y",
        "y" + String(repeating: "x", count: 199), "Zo\u{EB}x", "Zoe\u{308}", "a\u{0}b", "a\u{0}c",
    ]

    @Test("text values are equal exactly when their UTF-8 bytes are, and hash alike when equal")
    func textEqualityIsByteEquality() {
        for left in Self.texts {
            for right in Self.texts {
                let bytesEqual = Array(left.utf8) == Array(right.utf8)
                #expect((Value.text(left) == Value.text(right)) == bytesEqual, "\(left) vs \(right)")
                if bytesEqual { #expect(Value.text(left).hashValue == Value.text(right).hashValue) }
            }
        }
    }

    @Test("bridged and substring-made text compares by bytes too")
    func nonNativeText() {
        let long = String(repeating: "abc", count: 40)
        let sliced = String(long.dropFirst(3))
        #expect(Value.text(sliced) == Value.text(String(repeating: "abc", count: 39)))
        #expect(Value.text(sliced) != Value.text(long))
    }

    @Test("NULL, integers and text are never equal to each other")
    func kinds() {
        #expect(Value.null == Value.null)
        #expect(Value.null != Value.text(""))
        #expect(Value.integer(1) != Value.text("1"))
        #expect(Value.integer(7) == Value.integer(7))
    }
}
