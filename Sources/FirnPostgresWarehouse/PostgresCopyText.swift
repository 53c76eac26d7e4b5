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
        let present = min(values.count, width)
        for index in 0..<present { append(values[index]) }
        for _ in present..<width { appendNull() }
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
        for index in values.indices { append(values[index]) }
    }

    // Each field is written with its separator in one reservation of the buffer: per field
    // the buffer's capacity, uniqueness and bounds are checked once, not per byte or part.

    /// Appends a NULL field.
    public mutating func appendNull() {
        writeField(maximumBytes: 2) { raw in
            raw[0] = UInt8(ascii: "\\")
            raw[1] = UInt8(ascii: "N")
            return 2
        }
    }

    /// Appends an integer field.
    public mutating func append(integer: Int64) {
        // Digits written straight into the buffer: a decimal Int64 is at most 20 bytes.
        writeField(maximumBytes: 20) { raw in
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
        writeField(maximumBytes: Timestamp.textLength) { raw in
            timestamp.write(into: raw.bindMemory(to: UInt8.self))
        }
    }

    /// Appends a text field, escaped.
    public mutating func append(text: String) {
        let written: Void? = text.utf8.withContiguousStorageIfAvailable { write($0) }
        if written == nil {
            var text = text
            text.withUTF8 { write($0) }
        }
    }

    /// Ends the row.
    public mutating func endRow() {
        buffer.writeInteger(UInt8(ascii: "\n"))
        atRowStart = true
        count += 1
    }

    /// Writes one field after a tab (unless it starts its row): `body` gets room for
    /// `maximumBytes` and returns how many it wrote.
    private mutating func writeField(
        maximumBytes: Int,
        _ body: (UnsafeMutableRawBufferPointer) -> Int
    ) {
        let separated = !atRowStart
        atRowStart = false
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maximumBytes + 1) { raw in
            guard separated else { return body(raw) }
            raw[0] = UInt8(ascii: "\t")
            return 1 + body(UnsafeMutableRawBufferPointer(rebasing: raw[1...]))
        }
    }

    /// Writes a text field's bytes, escaped.
    private mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        let clean = !bytes.contains(where: Self.needsEscape)
        writeField(maximumBytes: clean ? bytes.count : 2 * bytes.count) { raw in
            if clean {
                raw.copyMemory(from: UnsafeRawBufferPointer(bytes))
                return bytes.count
            }
            var at = 0
            for byte in bytes {
                let escaped: UInt8? =
                    switch byte {
                    case UInt8(ascii: "\\"): UInt8(ascii: "\\")
                    case UInt8(ascii: "\t"): UInt8(ascii: "t")
                    case UInt8(ascii: "\n"): UInt8(ascii: "n")
                    case UInt8(ascii: "\r"): UInt8(ascii: "r")
                    default: nil
                    }
                if let escaped {
                    raw[at] = UInt8(ascii: "\\")
                    raw[at + 1] = escaped
                    at += 2
                } else {
                    raw[at] = byte
                    at += 1
                }
            }
            return at
        }
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }
}
