import FirnHTTP
import FirnMetrics
import Foundation

/// Where the warehouse's apply time went during a flow run: `firn_apply_seconds_total` by
/// phase and `firn_apply_rows_total`, read from the dashboard's registry (the process's
/// metrics) before, during and after the run.
public struct ApplyTime: Sendable, Hashable {
    /// Seconds by phase (``FirnMetrics/ApplyPhase`` raw values).
    public var seconds: [String: Double] = [:]
    /// Change rows applied.
    public var rows: Double = 0

    /// The phases' seconds added up: the time the writer spent in apply transactions.
    public var total: Double { seconds.values.reduce(0, +) }

    /// Microseconds of apply time per change row, or `nil` when no row was applied.
    public var microsecondsPerRow: Double? { rows > 0 ? total / rows * 1e6 : nil }

    /// Reads the counters now.
    static func now() -> ApplyTime {
        let secondsPrefix = FirnMetrics.Name.applySeconds + "{phase=\""
        let rowsPrefix = FirnMetrics.Name.applyRows + " "
        var reading = ApplyTime()
        for line in DashboardServer.registry.emitToString().split(separator: "\n") {
            if line.hasPrefix(secondsPrefix) {
                let rest = line.dropFirst(secondsPrefix.count)
                guard let quote = rest.firstIndex(of: "\""), let space = rest.lastIndex(of: " ") else { continue }
                reading.seconds[String(rest[..<quote])] = Double(rest[rest.index(after: space)...]) ?? 0
            } else if line.hasPrefix(rowsPrefix) {
                reading.rows = Double(line.dropFirst(rowsPrefix.count)) ?? 0
            }
        }
        return reading
    }

    /// This reading minus an earlier one.
    func since(_ earlier: ApplyTime) -> ApplyTime {
        var difference = ApplyTime(rows: rows - earlier.rows)
        for (phase, value) in seconds { difference.seconds[phase] = value - (earlier.seconds[phase] ?? 0) }
        return difference
    }

    /// One line: the apply time against the run's, each phase, and the cost per row in each
    /// part of the run (`parts`: consecutive readings' differences).
    public func line(runSeconds: Double, parts: [ApplyTime]) -> String {
        let phases = FirnMetrics.ApplyPhase.allCases.map { phase in
            String(format: "%@ %.2f", phase.rawValue, seconds[phase.rawValue] ?? 0)
        }
        var text = String(format: "apply %.2f s", total)
        if runSeconds > 0 {
            text += String(format: " of the run's %.2f s (%.0f%%)", runSeconds, total / runSeconds * 100)
        }
        text += ": " + phases.joined(separator: ", ")
        if let perRow = microsecondsPerRow { text += String(format: "; %.1f µs a row", perRow) }
        let perPart = parts.map { $0.microsecondsPerRow.map { String(format: "%.1f", $0) } ?? "-" }
        if parts.count > 1 {
            let kind = parts.count == 3 ? "thirds" : "parts"
            text += " (by \(kind) of the run: " + perPart.joined(separator: " / ") + ")"
        }
        return text
    }
}
