import FirnMetrics
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import ServiceLifecycle

/// The dashboard's HTTP server as a service: the page, the JSON API, `/metrics`, `/healthz`
/// and `/readyz`, reading through the warehouse seam (and the flow's live counts when it runs
/// in the same process).
///
/// Started with ``Requirement/required`` (`firn serve`), a failure to listen ends the service
/// with ``DashboardError/cannotListen(address:reason:)``. With ``Requirement/optional``
/// (inside `firn run`), it reports that failure once through `onUnavailable` and then waits
/// for shutdown, so the flow runs on without the page. On graceful shutdown, live streams
/// end within one event interval and the server stops.
public final class DashboardServer: Service, Sendable {
    /// Whether the process can do without the server.
    public enum Requirement: Sendable {
        /// Failing to listen fails the service.
        case required
        /// Failing to listen is reported, and the service waits for shutdown.
        case optional
    }

    /// The settings.
    public let configuration: DashboardConfiguration
    let sources: DashboardSources
    let requirement: Requirement
    let logger: Logger
    let onRunning: @Sendable (Int) -> Void
    let onUnavailable: @Sendable (DashboardError) -> Void
    let stopping = NIOLockedValueBox(false)
    let boundPort = NIOLockedValueBox<Int?>(nil)
    let streams = NIOLockedValueBox(0)
    let series: SeriesRecorder

    /// Creates the server.
    ///
    /// - Parameters:
    ///   - configuration: Address, token and intervals; validated by the caller.
    ///   - sources: What the page reads.
    ///   - requirement: Whether failing to listen fails the service.
    ///   - logger: For the server's own messages.
    ///   - onRunning: Called with the port once listening (the chosen one for port `0`).
    ///   - onUnavailable: Called when listening fails and the server is optional.
    public init(
        configuration: DashboardConfiguration,
        sources: DashboardSources,
        requirement: Requirement,
        logger: Logger = Logger(label: "firn.http"),
        onRunning: @escaping @Sendable (Int) -> Void = { _ in },
        onUnavailable: @escaping @Sendable (DashboardError) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.sources = sources
        self.requirement = requirement
        self.logger = logger
        self.onRunning = onRunning
        self.onUnavailable = onUnavailable
        self.series = SeriesRecorder(sources: sources, interval: configuration.seriesInterval)
    }

    /// The port listened on, once listening.
    public var port: Int? { boundPort.withLockedValue { $0 } }

    /// Live event streams open now: pages showing the dashboard.
    public var openEventStreams: Int { streams.withLockedValue { $0 } }

    public func run() async throws {
        let routes = DashboardRoutes(
            api: DashboardAPI(sources: sources, series: series),
            configuration: configuration,
            registry: Self.registry,
            stopping: stopping,
            streams: streams
        )
        let boundPort = boundPort
        let onRunning = onRunning
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let application = Application(
            router: routes.router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: [series],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.withLockedValue { $0 = port }
                onRunning(port)
            },
            logger: quiet
        )
        let stopping = stopping
        do {
            try await withGracefulShutdownHandler {
                try await application.run()
            } onGracefulShutdown: {
                stopping.withLockedValue { $0 = true }
            }
        } catch {
            // An error before the server listened is a failure to listen.
            guard port == nil, !stopping.withLockedValue({ $0 }) else { throw error }
            let failure = DashboardError.cannotListen(address: configuration.address, reason: Self.reason(error))
            switch requirement {
            case .required:
                throw failure
            case .optional:
                onUnavailable(failure)
                try? await gracefulShutdown()
            }
        }
    }

    /// `Address already in use` from NIO's `bind(…): Address already in use (errno: 98)`.
    static func reason(_ error: any Error) -> String {
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode))
        }
        return "\(error)"
    }

    /// The Prometheus registry `/metrics` shows: swift-metrics is bootstrapped with it once per
    /// process, the first time a server is made, with histogram buckets fit for freshness and
    /// commit times.
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[FirnMetrics.Name.freshness] = FirnMetrics.freshnessBuckets.map {
            Duration.nanoseconds(Int64(($0 * 1e9).rounded()))
        }
        factory.durationHistogramBuckets[FirnMetrics.Name.commitDuration] = [
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
        ].map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        MetricsSystem.bootstrap(factory)
        return registry
    }()
}
