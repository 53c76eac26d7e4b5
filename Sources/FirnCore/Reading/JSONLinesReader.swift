#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A streaming reader of the lines of a JSON Lines file, skipping blank lines.
///
/// ``nextLine()`` makes the next non-blank line current: ``line`` holds its bytes without the
/// line ending (LF or CRLF) and ``lineNumber`` its physical line number (1 for the first line,
/// blank lines counted), so a reject points at the line a person sees in an editor. A UTF-8
/// BOM at the start is skipped. A line over ``maxLineBytes`` keeps only its first
/// ``CSVReader/rawLimit`` bytes and is marked ``isOversized``.
final class JSONLinesReader {
    /// The file being read.
    let file: ByteFile
    /// The longest line kept whole.
    let maxLineBytes: Int
    /// The current line's bytes (a prefix when ``isOversized``).
    private(set) var line: [UInt8] = []
    /// The current line's full length in bytes.
    private(set) var lineLength = 0
    /// The current line's number.
    private(set) var lineNumber: Int64 = 0
    /// `true` when the current line is longer than ``maxLineBytes``.
    var isOversized: Bool { lineLength > maxLineBytes }

    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private var bufferCount = 0
    private var position = 0
    private var bufferOffset: Int64 = 0

    /// The offset in the file of the next byte to scan: past the last line read.
    var bytesRead: Int64 { bufferOffset + Int64(position) }

    /// Opens a JSON Lines file.
    ///
    /// - Throws: ``FileReadError`` when the file cannot be opened or read, or is empty or binary.
    convenience init(path: String, maxLineBytes: Int, readBufferBytes: Int) throws(FileReadError) {
        try self.init(file: try ByteFile(path: path), maxLineBytes: maxLineBytes, readBufferBytes: readBufferBytes)
    }

    /// Reads a JSON Lines file opened as `file` (up to its size when opened).
    ///
    /// - Throws: ``FileReadError`` when the file cannot be read, or is empty or binary.
    init(file: ByteFile, maxLineBytes: Int, readBufferBytes: Int) throws(FileReadError) {
        self.file = file
        self.maxLineBytes = maxLineBytes
        buffer = .allocate(capacity: max(16, readBufferBytes))
        guard try refill() else { throw .empty(path: file.path) }
        position = ByteFile.byteOrderMarkLength(buffer, count: bufferCount)
    }

    deinit {
        buffer.deallocate()
    }

    /// Makes the next non-blank line current.
    ///
    /// - Returns: `false` at the end of the file.
    /// - Throws: ``FileReadError`` when reading fails or a NUL byte is found.
    func nextLine() throws(FileReadError) -> Bool {
        while true {
            guard try readLine() else { return false }
            if !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) || lineLength > line.count {
                return true
            }
        }
    }

    private func readLine() throws(FileReadError) -> Bool {
        line.removeAll(keepingCapacity: line.capacity <= 1 << 22)
        lineLength = 0
        var sawBytes = false
        while true {
            if position == bufferCount {
                guard try refill() else {
                    guard sawBytes else { return false }
                    finishLine()
                    return true
                }
            }
            sawBytes = true
            let start = position
            let base = buffer.baseAddress! + start
            if let found = memchr(base, Int32(UInt8(ascii: "\n")), bufferCount - start) {
                let end = start + (found.assumingMemoryBound(to: UInt8.self) - base)
                append(start, end)
                position = end + 1
                finishLine()
                return true
            }
            append(start, bufferCount)
            position = bufferCount
        }
    }

    private func finishLine() {
        lineNumber += 1
        if line.count == lineLength, line.last == UInt8(ascii: "\r") {
            line.removeLast()
            lineLength -= 1
        }
    }

    private func append(_ start: Int, _ end: Int) {
        let count = end - start
        let limit = lineLength + count > maxLineBytes ? CSVReader.rawLimit : Int.max
        if line.count > limit { line.removeSubrange(limit...) }
        let kept = min(count, max(0, limit - line.count))
        if kept > 0 { line.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<(start + kept)])) }
        lineLength += count
    }

    private func refill() throws(FileReadError) -> Bool {
        bufferOffset += Int64(bufferCount)
        bufferCount = try file.read(at: bufferOffset, into: buffer)
        position = 0
        return bufferCount > 0
    }
}
