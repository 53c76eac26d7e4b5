import FirnCore
import FirnFlow
import FirnWarehouse
import Foundation
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Samples throughput and freshness every interval and keeps the last hour, for the page's plot.
///
/// With the flow in this process, rows come from the pipe's totals and freshness from the
/// flow's tracker; without it (`firn serve`), both come from loads that appeared in load history
/// since the last sample (freshness from their landing and finish times, where recorded).
final class SeriesRecorder: Service, Sendable {
    let interval: Duration
    let capacity: Int
    let sources: DashboardSources
    struct State {
        var points: [API.SeriesPoint] = []
        var rows: Int64?
        var files = 0
        var freshnessIndex = 0
        var lastLoadID: Int64?
    }
    let state = NIOLockedValueBox(State())

    init(sources: DashboardSources, interval: Duration = .seconds(5), keeping window: Duration = .seconds(3600)) {
        self.sources = sources
        self.interval = interval
        self.capacity = max(1, Int(window.seconds / interval.seconds))
    }

    var series: API.Series {
        API.Series(intervalSeconds: interval.seconds, points: state.withLockedValue { $0.points })
    }

    func run() async throws {
        await sample()
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: self.interval)
                await self.sample()
            }
        }
    }

    /// Takes one sample (the first only sets the baseline).
    func sample() async {
        let at = Int64(Date().timeIntervalSince1970 * 1000)
        if let flow = sources.flow {
            let stats = flow.pipe?.statistics
            let rows = stats?.rowsLoaded ?? 0
            let files = (stats?.objectsLoaded ?? 0) + (stats?.objectsFailed ?? 0)
            let (samples, count) = flow.freshness.samples(after: state.withLockedValue { $0.freshnessIndex })
            state.withLockedValue { state in
                defer {
                    state.rows = rows
                    state.files = files
                    state.freshnessIndex = count
                }
                guard let before = state.rows else { return }
                let summary = FreshnessSummary(of: samples)
                append(
                    API.SeriesPoint(
                        at: at,
                        rowsPerSecond: Double(rows - before) / interval.seconds,
                        files: files - state.files,
                        freshnessP50: summary.count > 0 ? summary.p50 : nil,
                        freshnessP99: summary.count > 0 ? summary.p99 : nil
                    ),
                    to: &state
                )
            }
        } else {
            guard let page = try? await sources.warehouse.loadHistory(.first(500)) else { return }
            let newest = page.items.first?.id ?? 0
            state.withLockedValue { state in
                defer { state.lastLoadID = newest }
                guard let last = state.lastLoadID else { return }
                let fresh = page.items.filter { $0.id > last }
                let rows = fresh.reduce(Int64(0)) { $0 + $1.rowsLoaded }
                let summary = FreshnessSummary(of: fresh.compactMap(\.freshnessSeconds))
                append(
                    API.SeriesPoint(
                        at: at,
                        rowsPerSecond: Double(rows) / interval.seconds,
                        files: fresh.count,
                        freshnessP50: summary.count > 0 ? summary.p50 : nil,
                        freshnessP99: summary.count > 0 ? summary.p99 : nil
                    ),
                    to: &state
                )
            }
        }
    }

    private func append(_ point: API.SeriesPoint, to state: inout State) {
        state.points.append(point)
        if state.points.count > capacity { state.points.removeFirst(state.points.count - capacity) }
    }
}
