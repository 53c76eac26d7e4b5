import ServiceLifecycle

/// Prints a status line every interval, and a last one once the services before it in the
/// group have drained.
struct StatusReporter: Service {
    let interval: Duration
    let line: @Sendable () async -> String
    let print: @Sendable (String) -> Void

    func run() async throws {
        let interval = interval
        let line = line
        let print = print
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: interval)
                print(await line())
            }
        }
        print(await line())
    }
}
