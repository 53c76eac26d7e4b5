#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A streaming RFC 4180 CSV reader: one row at a time, a fixed-size read buffer, a byte-level
/// state machine.
///
/// It reads the header (row 0) when created; ``nextRow()`` then makes the next data row current:
/// its ``raw`` bytes (the row's physical text without its line ending) and its ``fields``, offsets
/// into ``raw`` that remember whether each field was quoted (a blank line is one empty field). A row holds quoted fields, escaped
/// quotes (`""`), commas and line breaks inside quotes, and ends at LF or CRLF outside quotes;
/// a final line without a line ending is a row, a final line ending alone is not; a UTF-8 BOM
/// at the start is skipped. A file whose header ends with a bare CR (old "CSV (Macintosh)"
/// exports) ends its rows at CR or CRLF outside quotes instead (an LF elsewhere is then data, as
/// a bare CR is in other files); the header decides, so LF files pay nothing for it. A row that cannot be read (`"ab"c`, an unclosed quote, a field over
/// the size limit) still becomes current, with ``problem`` saying why, and reading goes on with
/// the next row: after a quote that never closes, with the line after the one it opened on.
///
/// Memory is bounded by the read buffer and the limits, not the file: a row over its limit
/// keeps only its first ``rawLimit`` bytes.
final class CSVReader {
    /// A field of the current row: bytes `start..<end` of ``raw`` (inside the quotes when quoted).
    struct Field {
        var start: Int
        var end: Int
        var isQuoted: Bool
        /// The field contains `""` pairs, which ``unescape(_:into:)`` turns into `"`.
        var hasEscapedQuotes: Bool
    }

    private enum State {
        case fieldStart, unquoted, quoted, quoteInQuoted, crAfterQuote, malformed
    }

    /// How many bytes of an oversized row are kept for its rejected raw text.
    static let rawLimit = 4096

    private static let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")

    /// The file being read.
    let file: ByteFile
    /// The column names of the header row, trimmed of spaces (empty when the file has no header).
    private(set) var header: [String] = []
    /// The current row's number: 0 for the header, 1 for the first data row.
    private(set) var rowNumber: Int64 = -1
    /// The current row's bytes, without its line ending (only a prefix when the row is too long).
    private(set) var raw: [UInt8] = []
    /// The current row's full length in bytes (more than `raw.count` when only a prefix was kept).
    private(set) var rawLength = 0
    /// The current row's fields (at most one more than the header has; none when only a prefix of
    /// the row was kept).
    private(set) var fields: [Field] = []
    /// How many fields the current row has.
    private(set) var fieldCount = 0
    /// Why the current row cannot be read, or `nil`.
    private(set) var problem: String?

    private let maxFieldBytes: Int
    private var maxFields = Int.max
    private var maxRowBytes = Int.max
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private var bufferCount = 0
    private var position = 0
    private var bufferOffset: Int64 = 0
    private var isAtEnd = false
    private var lastByteOfPreviousBuffer: UInt8 = 0

    private var state = State.fieldStart
    private var fieldStart = 0
    private var fieldHasEscapedQuotes = false
    private var closingQuote = 0
    private var rowStartOffset: Int64 = 0
    /// The byte that ends a row outside quotes: LF, or CR in a file whose header ends with a bare CR.
    private var terminator = CSVReader.lf
    /// Whether rows end at CR (then an LF right after it belongs to the same line ending).
    private var endsRowsAtCR: Bool { terminator == CSVReader.cr }
    private var quoteOpenOffset: Int64 = 0
    private var isRawCapped = false

    /// The offset in the file of the next byte to scan: past the last row read.
    var bytesRead: Int64 { bufferOffset + Int64(position) }

    /// Opens a CSV file and reads its header row.
    ///
    /// - Throws: ``FileReadError`` when the file cannot be opened or read, is empty or binary,
    ///   or its header row is malformed.
    convenience init(path: String, maxFieldBytes: Int, readBufferBytes: Int) throws(FileReadError) {
        try self.init(file: try ByteFile(path: path), maxFieldBytes: maxFieldBytes, readBufferBytes: readBufferBytes)
    }

    /// Reads a CSV file opened as `file` (up to its size when opened) and its header row.
    ///
    /// - Throws: ``FileReadError`` when the file cannot be read, is empty or binary, or its
    ///   header row is malformed.
    init(file: ByteFile, maxFieldBytes: Int, readBufferBytes: Int) throws(FileReadError) {
        let path = file.path
        self.file = file
        self.maxFieldBytes = maxFieldBytes
        buffer = .allocate(capacity: max(16, readBufferBytes))
        guard try refill() else { throw .empty(path: path) }
        position = ByteFile.byteOrderMarkLength(buffer, count: bufferCount)
        if try CSVReader.headerEndsWithBareCR(file, from: Int64(position)) { terminator = CSVReader.cr }
        guard try nextRow() else { return }
        if let problem { throw .malformedHeader(path: path, reason: problem) }
        header = raw.withUnsafeBufferPointer { raw in
            var scratch: [UInt8] = []
            return fields.map { field in
                CSVReader.withText(of: field, in: raw, scratch: &scratch) {
                    String(decoding: $0, as: UTF8.self).trimmingSpaces()
                }
            }
        }
        let columns = header.count + 1
        maxFields = columns
        let (rowBytes, overflow) = (maxFieldBytes + 3).multipliedReportingOverflow(by: columns)
        maxRowBytes = overflow ? Int.max : rowBytes
    }

    deinit {
        buffer.deallocate()
    }

    /// Whether the first row (the header) ends with a CR that no LF follows, outside quotes.
    private static func headerEndsWithBareCR(_ file: ByteFile, from start: Int64) throws(FileReadError) -> Bool {
        let block = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1 << 12)
        defer { block.deallocate() }
        var offset = start
        var isQuoted = false
        var afterCR = false
        // A header has its line ending long before 1 MiB; a file without one is not a CR file.
        while offset - start < 1 << 20 {
            let count = try file.read(at: offset, into: block)
            if count == 0 { return false }
            for byte in block[0..<count] {
                if afterCR { return byte != lf }
                if byte == quote {
                    isQuoted.toggle()
                } else if !isQuoted {
                    if byte == lf { return false }
                    if byte == cr { afterCR = true }
                }
            }
            offset += Int64(count)
        }
        return false
    }

    /// Makes the next row current.
    ///
    /// - Returns: `false` at the end of the file.
    /// - Throws: ``FileReadError`` when reading fails or a NUL byte is found.
    func nextRow() throws(FileReadError) -> Bool {
        raw.removeAll(keepingCapacity: raw.capacity <= 1 << 22)
        fields.removeAll(keepingCapacity: true)
        rawLength = 0
        fieldCount = 0
        problem = nil
        isRawCapped = false
        state = .fieldStart
        if endsRowsAtCR {
            // CRLF is one line ending: skip the LF after the CR that ended the previous row.
            if position == bufferCount { _ = try refill() }
            if position < bufferCount, buffer[position] == CSVReader.lf, previousByte(position) == CSVReader.cr {
                position += 1
            }
        }
        rowStartOffset = bufferOffset + Int64(position)
        var segmentStart = position
        while true {
            if position == bufferCount {
                let base = rawLength - segmentStart
                if state != .fieldStart, state != .malformed, base + bufferCount - fieldStart > maxFieldBytes {
                    isRawCapped = true
                }
                appendRaw(segmentStart, bufferCount)
                guard try refill() else { return try finishAtEnd() }
                segmentStart = 0
            }
            let lineFeed = scan(base: rawLength - segmentStart)
            if lineFeed >= 0 {
                let endsWithCR = !endsRowsAtCR && previousByte(lineFeed) == CSVReader.cr
                appendRaw(segmentStart, lineFeed)
                if endsWithCR { dropLastRawByte() }
                position = lineFeed + 1
                completeRow()
                return true
            }
        }
    }

    /// Runs the state machine over the buffer from ``position``; the logical offset of buffer
    /// index `i` in the row is `base + i`. Returns the index of the LF that ends the row, or -1
    /// after consuming the whole buffer. (In a file whose rows end at CR, "LF" here means CR.)
    private func scan(base: Int) -> Int {
        // The per-field state lives in locals while scanning: stored properties of a class cost
        // an exclusivity check on every access.
        let bytes = buffer.baseAddress!
        let count = bufferCount
        let maxFields = maxFields
        let maxFieldBytes = maxFieldBytes
        let lf = terminator
        var index = position
        var state = self.state
        var fields = self.fields
        self.fields = []
        var fieldCount = self.fieldCount
        var fieldStart = self.fieldStart
        var hasEscapedQuotes = fieldHasEscapedQuotes
        var closingQuote = self.closingQuote
        defer {
            self.state = state
            self.fields = fields
            self.fieldCount = fieldCount
            self.fieldStart = fieldStart
            fieldHasEscapedQuotes = hasEscapedQuotes
            self.closingQuote = closingQuote
            position = count
        }
        func endField(_ start: Int, _ end: Int, isQuoted: Bool) {
            if end - start > maxFieldBytes { oversized(column: fieldCount, length: end - start) }
            if fields.count < maxFields {
                let escaped = isQuoted && hasEscapedQuotes
                fields.append(Field(start: start, end: end, isQuoted: isQuoted, hasEscapedQuotes: escaped))
            }
            fieldCount += 1
        }
        while index < count {
            switch state {
            case .fieldStart:
                let byte = bytes[index]
                if byte == CSVReader.comma {
                    endField(base + index, base + index, isQuoted: false)
                    index += 1
                } else if byte == CSVReader.quote {
                    state = .quoted
                    fieldStart = base + index + 1
                    hasEscapedQuotes = false
                    quoteOpenOffset = bufferOffset + Int64(index)
                    index += 1
                } else if byte == lf {
                    endField(base + index, base + index, isQuoted: false)
                    return index
                } else {
                    state = .unquoted
                    fieldStart = base + index
                    index += 1
                }
            case .unquoted:
                while index < count, bytes[index] != CSVReader.comma, bytes[index] != lf { index += 1 }
                guard index < count else { break }
                if bytes[index] == CSVReader.comma {
                    endField(fieldStart, base + index, isQuoted: false)
                    state = .fieldStart
                    index += 1
                } else {
                    let end = base + index - (previousByte(index) == CSVReader.cr ? 1 : 0)
                    endField(fieldStart, end, isQuoted: false)
                    state = .fieldStart
                    return index
                }
            case .quoted:
                guard let found = memchr(bytes + index, Int32(CSVReader.quote), count - index) else {
                    index = count
                    break
                }
                index = found.assumingMemoryBound(to: UInt8.self) - bytes
                closingQuote = base + index
                state = .quoteInQuoted
                index += 1
            case .quoteInQuoted:
                let byte = bytes[index]
                if byte == CSVReader.quote {
                    hasEscapedQuotes = true
                    state = .quoted
                    index += 1
                } else if byte == CSVReader.comma {
                    endField(fieldStart, closingQuote, isQuoted: true)
                    state = .fieldStart
                    index += 1
                } else if byte == lf {
                    endField(fieldStart, closingQuote, isQuoted: true)
                    state = .fieldStart
                    return index
                } else if byte == CSVReader.cr {
                    state = .crAfterQuote
                    index += 1
                } else {
                    note("text after the closing quote in column \(columnName(fieldCount))")
                    state = .malformed
                }
            case .crAfterQuote:
                if bytes[index] == lf {
                    endField(fieldStart, closingQuote, isQuoted: true)
                    state = .fieldStart
                    return index
                }
                note("text after the closing quote in column \(columnName(fieldCount))")
                state = .malformed
            case .malformed:
                guard let found = memchr(bytes + index, Int32(lf), count - index) else {
                    index = count
                    break
                }
                state = .fieldStart
                return found.assumingMemoryBound(to: UInt8.self) - bytes
            }
        }
        return -1
    }

    private func oversized(column: Int, length: Int) {
        note("field in column \(columnName(column)) is \(length) bytes, over the limit of \(maxFieldBytes) bytes")
        isRawCapped = true
    }

    /// Ends a field outside ``scan(base:)`` (at the end of the file).
    private func endField(_ start: Int, _ end: Int, isQuoted: Bool) {
        if end - start > maxFieldBytes { oversized(column: fieldCount, length: end - start) }
        if fields.count < maxFields {
            let escaped = isQuoted && fieldHasEscapedQuotes
            fields.append(Field(start: start, end: end, isQuoted: isQuoted, hasEscapedQuotes: escaped))
        }
        fieldCount += 1
    }

    /// Ends the row at the end of the file (a last line without a line ending).
    private func finishAtEnd() throws(FileReadError) -> Bool {
        let endsWithCR = !endsRowsAtCR && lastByteOfPreviousBuffer == CSVReader.cr
        switch state {
        case .fieldStart:
            if fieldCount == 0 && rawLength == 0 { return false }
            endField(rawLength, rawLength, isQuoted: false)
        case .unquoted:
            if endsWithCR { dropLastRawByte() }
            endField(fieldStart, max(fieldStart, rawLength), isQuoted: false)
        case .quoteInQuoted, .crAfterQuote:
            if endsWithCR { dropLastRawByte() }
            endField(fieldStart, closingQuote, isQuoted: true)
        case .malformed:
            if endsWithCR { dropLastRawByte() }
        case .quoted:
            try recoverFromUnclosedQuote()
        }
        completeRow()
        return true
    }

    /// Rejects a row whose quote never closes, up to the line the quote opened on, and goes on
    /// reading after that line.
    private func recoverFromUnclosedQuote() throws(FileReadError) {
        problem = "quoted field in column \(columnName(fieldCount)) is never closed"
        guard let lineFeed = try file.firstOffset(of: terminator, from: quoteOpenOffset + 1) else { return }
        rawLength = Int(lineFeed - rowStartOffset)
        if raw.count > rawLength { raw.removeSubrange(rawLength...) }
        if !endsRowsAtCR, raw.count == rawLength, raw.last == CSVReader.cr { dropLastRawByte() }
        bufferOffset = lineFeed + 1
        bufferCount = 0
        position = 0
        lastByteOfPreviousBuffer = terminator
        isAtEnd = false
    }

    private func completeRow() {
        rowNumber += 1
        if rawLength > maxRowBytes {
            note("row is \(rawLength) bytes, over the limit of \(maxRowBytes) bytes")
        }
        // Only a prefix of the row was kept: its fields cannot be read (the row has a problem).
        if raw.count < rawLength { fields.removeAll(keepingCapacity: true) }
        state = .fieldStart
    }

    private func note(_ reason: @autoclosure () -> String) {
        if problem == nil { problem = reason() }
    }

    private func columnName(_ index: Int) -> String {
        index < header.count && !header[index].isEmpty ? header[index] : "#\(index + 1)"
    }

    @inline(__always)
    private func previousByte(_ index: Int) -> UInt8 {
        index > 0 ? buffer[index - 1] : lastByteOfPreviousBuffer
    }

    private func appendRaw(_ start: Int, _ end: Int) {
        let count = end - start
        guard count > 0 else { return }
        if !isRawCapped && rawLength + count > maxRowBytes { isRawCapped = true }
        if isRawCapped {
            if raw.count > CSVReader.rawLimit { raw.removeSubrange(CSVReader.rawLimit...) }
            let kept = min(count, CSVReader.rawLimit - raw.count)
            if kept > 0 { raw.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<(start + kept)])) }
        } else {
            raw.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<end]))
        }
        rawLength += count
    }

    private func dropLastRawByte() {
        if raw.count == rawLength { raw.removeLast() }
        rawLength -= 1
    }

    private func refill() throws(FileReadError) -> Bool {
        if bufferCount > 0 { lastByteOfPreviousBuffer = buffer[bufferCount - 1] }
        bufferOffset += Int64(bufferCount)
        bufferCount = 0
        position = 0
        guard !isAtEnd else { return false }
        bufferCount = try file.read(at: bufferOffset, into: buffer)
        isAtEnd = bufferCount == 0
        return !isAtEnd
    }

    /// Calls `body` with a field's text: its bytes in `raw`, or, when it has escaped quotes, those
    /// bytes with each `""` made `"` (in `scratch`).
    static func withText<Result>(
        of field: Field,
        in raw: UnsafeBufferPointer<UInt8>,
        scratch: inout [UInt8],
        _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result {
        let bytes = UnsafeBufferPointer(rebasing: raw[field.start..<field.end])
        guard field.hasEscapedQuotes else { return body(bytes) }
        scratch.removeAll(keepingCapacity: true)
        var index = 0
        while index < bytes.count {
            scratch.append(bytes[index])
            index += bytes[index] == quote ? 2 : 1
        }
        return scratch.withUnsafeBufferPointer(body)
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
