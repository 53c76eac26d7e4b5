import Foundation

/// Runs `services` until `condition` holds (returns true) or `seconds` pass (false), polling
/// every 20 ms, then cancels them and waits for them to end.
///
/// Generous timeouts are on purpose: synchronous suites running in parallel can hold the test
/// process's cooperative threads for many seconds on a 2-core machine.
public func runServices(
    _ services: [@Sendable () async throws -> Void],
    for seconds: Double,
    until condition: () async throws -> Bool
) async throws -> Bool {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for service in services { group.addTask { try await service() } }
        let deadline = Date().addingTimeInterval(seconds)
        var met = false
        while Date() < deadline {
            if (try? await condition()) == true {
                met = true
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        group.cancelAll()
        try? await group.waitForAll()
        return met
    }
}
