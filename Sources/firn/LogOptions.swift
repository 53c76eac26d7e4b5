import ArgumentParser
import FirnFlow
import Logging

/// How the long-running commands log: level and format, on standard error.
struct LogOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Option(help: "Log level for messages on standard error: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(help: "Log format on standard error: text, or json (one object per line, for log collectors).")
    var logFormat: Format = .text

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    /// Sends log messages to standard error at the chosen level and in the chosen format.
    func bootstrap() -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let format = logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: "firn")
    }
}
