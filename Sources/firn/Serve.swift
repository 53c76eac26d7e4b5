import ArgumentParser
import FirnConfig
import FirnHTTP
import FirnIngest
import Foundation
import Logging
import ServiceLifecycle

/// The dashboard's flags, shared by `firn serve` and the flow commands.
struct HTTPOptions: ParsableArguments {
    @Option(
        name: .customLong("http"),
        help: ArgumentHelp(
            "Where the dashboard listens: ADDRESS:PORT.",
            discussion: "Loopback only by default; any other address needs --http-token (or FIRN_HTTP_TOKEN).",
            valueName: "address"
        )
    )
    var address = "127.0.0.1:8080"

    @Flag(name: .customLong("no-http"), help: "Run without the dashboard (firn run and firn pipe).")
    var disabled = false

    @Option(
        name: .customLong("http-token"),
        help: ArgumentHelp(
            "The token every dashboard request must carry (default: FIRN_HTTP_TOKEN). Open /?token=… once in a browser.",
            valueName: "token"
        )
    )
    var token: String?

    func validate() throws {
        _ = try dashboardConfiguration()
    }

    /// The dashboard's settings from the flags and `FIRN_HTTP_TOKEN`.
    func dashboardConfiguration() throws -> DashboardConfiguration {
        var configuration = DashboardConfiguration()
        do {
            try configuration.setAddress(address)
            configuration.token = token ?? ProcessInfo.processInfo.environment["FIRN_HTTP_TOKEN"].flatMap {
                $0.isEmpty ? nil : $0
            }
            try configuration.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return configuration
    }

    /// The dashboard as a watcher of a running flow: when its address is taken, the flow runs
    /// on without it, and one line says so.
    func watcher(for command: String, sources: DashboardSources, logger: Logger) throws -> [any Service] {
        guard !disabled else { return [] }
        let configuration = try dashboardConfiguration()
        let server = DashboardServer(
            configuration: configuration,
            sources: sources,
            requirement: .optional,
            logger: logger,
            onRunning: { port in
                printNow("firn \(command): dashboard at http://\(Self.display(configuration, port: port))/")
            },
            onUnavailable: { error in
                printError("firn \(command): \(error); running without the dashboard (choose another with --http, or --no-http)")
            }
        )
        return [server]
    }

    /// `host:port` as a browser takes it.
    static func display(_ configuration: DashboardConfiguration, port: Int) -> String {
        var shown = configuration
        shown.port = port
        return shown.address
    }
}

/// `firn serve`: the dashboard alone, reading the warehouse.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the dashboard, its JSON API and /metrics for a warehouse (no loading).",
        discussion: """
            Open http://127.0.0.1:8080/ (or --http). Load history, rejects, provenance, any key's \
            history, the table as of a time, tasks (suspend and resume; runs happen in firn run) and \
            the workers sharing the warehouse. The live counts of a flow show in `firn run`'s own \
            dashboard. The API is described at /openapi.json; /healthz and /readyz answer health checks.
            """
    )

    @OptionGroup var options: GlobalOptions
    @OptionGroup var http: HTTPOptions

    @OptionGroup var logging: LogOptions

    func validate() throws {
        if http.disabled { throw ValidationError("--no-http makes no sense for firn serve") }
    }

    func run() async throws {
        let logger = logging.bootstrap()
        let (warehouse, settings) = try await options.openWarehouse(creating: false)
        let journalPath = (settings.dataDirectory as NSString).appendingPathComponent("ingest.sqlite")
        let journal = FileManager.default.fileExists(atPath: journalPath) ? try options.openJournal(settings) : nil
        let store = try? options.openStore(settings)
        let configuration = try http.dashboardConfiguration()
        let server = DashboardServer(
            configuration: configuration,
            sources: DashboardSources(warehouse: warehouse, store: store, journal: journal),
            requirement: .required,
            logger: logger,
            onRunning: { port in
                printNow("firn serve: dashboard at http://\(HTTPOptions.display(configuration, port: port))/ for warehouse \(warehouse.location)")
            }
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch let error as DashboardError {
            printError("firn serve: \(error)")
            throw ExitCode.failure
        }
    }
}
