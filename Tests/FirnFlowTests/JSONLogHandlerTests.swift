import FirnFlow
import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing

/// `--log-format json`: one JSON object per line, with the message, level, label, metadata.
@Suite struct JSONLogHandlerTests {
    @Test func eachMessageIsOneParseableLine() throws {
        let lines = NIOLockedValueBox<[String]>([])
        var handler = JSONLogHandler(label: "firn.test") { line in lines.withLockedValue { $0.append(line) } }
        handler.logLevel = .debug
        handler[metadataKey: "worker"] = "w1"
        var logger = Logger(label: "firn.test") { _ in handler }
        logger.logLevel = .debug
        logger.warning("upload \"a.csv\"\nfailed", metadata: ["attempt": "2", "keys": ["a", "b"]])
        logger.trace("not shown")
        let written = lines.withLockedValue { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("\n"))
        #expect(line.dropLast().contains("\n") == false)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "firn.test")
        #expect(object["message"] as? String == "upload \"a.csv\"\nfailed")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["worker"] as? String == "w1")
        #expect(metadata["attempt"] as? String == "2")
        #expect(metadata["keys"] as? [String] == ["a", "b"])
        let time = try #require(object["time"] as? String)
        #expect(time.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/) != nil)
    }
}
