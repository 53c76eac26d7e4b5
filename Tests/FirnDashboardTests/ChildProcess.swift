import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A process the test starts and stops, with its output collected as it comes.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var output = ""

    var text: String { lock.withLock { output } }

    static func start(_ executable: URL, _ arguments: [String], in directory: URL? = nil) throws -> ChildProcess {
        let child = ChildProcess()
        if let directory { child.process.currentDirectoryURL = directory }
        child.process.executableURL = executable
        child.process.arguments = arguments
        let pipe = Pipe()
        child.process.standardOutput = pipe
        child.process.standardError = pipe
        child.process.standardInput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            child.lock.withLock { child.output += String(decoding: data, as: UTF8.self) }
        }
        try child.process.run()
        return child
    }

    /// Waits for an output line containing `text`, and returns it.
    func waitForLine(containing text: String, seconds: Double) async throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let line = self.text.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw WebDriver.Failure(description: "no line containing \(text.debugDescription) from \(process.executableURL?.lastPathComponent ?? "?"); output:\n\(self.text)")
    }

    /// Waits for the process to end and returns its exit status; kills it after `seconds`.
    @discardableResult
    func waitForExit(seconds: Double) async throws -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            stop()
            throw WebDriver.Failure(description: "\(process.executableURL?.lastPathComponent ?? "?") still ran after \(seconds) s; output:\n\(text)")
        }
        return process.terminationStatus
    }

    /// SIGTERM, then SIGKILL after five seconds.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// A port free on loopback now.
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
            }
        }
        guard bound else { throw WebDriver.Failure(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
