import FirnCore
import NIOCore

/// Rows in the text format of PostgreSQL's `COPY … FROM STDIN`, written straight into one
/// buffer: fields tab-separated, rows ended by a newline, `\N` for NULL, and backslash, tab,
/// newline and carriage return escaped with a backslash (text without them is copied as is).
public struct PostgresCopyRows: Sendable {
    /// The rows so far, ready to send.
    public private(set) var buffer: ByteBuffer
    /// Rows ended so far.
    public private(set) var count = 0
    private var atRowStart = true

    /// No rows yet; `reservingBytes` sizes the buffer up front.
    public init(reservingBytes: Int = 0) {
        buffer = ByteBufferAllocator().buffer(capacity: reservingBytes)
    }

    /// Whether no row has been ended.
    public var isEmpty: Bool { count == 0 }

    /// Appends a field.
    public mutating func append(_ value: Value) {
        switch value {
        case .null: appendNull()
        case .integer(let number): append(integer: number)
        case .text(let text): append(text: text)
        }
    }

    /// Appends the values as fields, then NULL fields up to `width` (a delete may carry fewer
    /// attributes than the entity has; extra values are dropped).
    public mutating func append(_ values: [Value], paddedTo width: Int) {
        for index in 0..<width { append(index < values.count ? values[index] : .null) }
    }

    /// Appends the key's values as fields (a single integer without making an array of it).
    public mutating func append(key: Key) {
        if let integer = key.integer {
            append(integer: integer)
        } else {
            append(key.values)
        }
    }

    /// Appends the values as fields.
    public mutating func append(_ values: [Value]) {
        for value in values { append(value) }
    }

    /// Appends a NULL field.
    public mutating func appendNull() {
        separate()
        buffer.writeStaticString("\\N")
    }

    /// Appends an integer field.
    public mutating func append(integer: Int64) {
        separate()
        // Digits written straight into the buffer: a decimal Int64 is at most 20 bytes.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { raw in
            var rest = integer.magnitude
            var length = integer < 0 ? 1 : 0
            var probe = rest
            repeat {
                length += 1
                probe /= 10
            } while probe > 0
            var index = length
            repeat {
                index -= 1
                raw[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
            if integer < 0 { raw[0] = UInt8(ascii: "-") }
            return length
        }
    }

    /// Appends a timestamp field in Firn's canonical text form.
    public mutating func append(timestamp: Timestamp) {
        separate()
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Timestamp.textLength) { raw in
            timestamp.write(into: raw.bindMemory(to: UInt8.self))
        }
    }

    /// Appends a text field, escaped.
    public mutating func append(text: String) {
        separate()
        var text = text
        text.withUTF8 { bytes in
            guard bytes.contains(where: Self.needsEscape) else {
                buffer.writeBytes(bytes)
                return
            }
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
                case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
                case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
                default: buffer.writeInteger(byte)
                }
            }
        }
    }

    /// Ends the row.
    public mutating func endRow() {
        buffer.writeInteger(UInt8(ascii: "\n"))
        atRowStart = true
        count += 1
    }

    private mutating func separate() {
        if atRowStart {
            atRowStart = false
        } else {
            buffer.writeInteger(UInt8(ascii: "\t"))
        }
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }
}
