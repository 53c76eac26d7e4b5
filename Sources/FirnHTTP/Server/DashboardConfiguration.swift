/// Where the dashboard listens and who may use it.
///
/// Loopback addresses need no token. Any other address needs one (``token``): the server
/// refuses to start without it, and then checks it on every request (an `Authorization:
/// Bearer` header, or the cookie the page sets after `/?token=…`).
public struct DashboardConfiguration: Sendable, Hashable {
    /// The address to listen on. Defaults to `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// The port; `0` picks a free one. Defaults to `8080`.
    public var port: Int = 8080
    /// The token every request must carry; `nil` for none (loopback only).
    public var token: String?
    /// Seconds between the page's live updates. Defaults to `1`.
    public var eventInterval: Duration = .seconds(1)
    /// Seconds between the points of the throughput and freshness plot. Defaults to `5`.
    public var seriesInterval: Duration = .seconds(5)

    /// Listens on `127.0.0.1:8080` with no token.
    public init() {}

    /// Reads `ADDRESS:PORT` (`127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:80`) or a bare `:PORT`.
    ///
    /// - Throws: ``DashboardError/invalidAddress(_:)``.
    public mutating func setAddress(_ text: String) throws(DashboardError) {
        guard let colon = text.lastIndex(of: ":") else { throw .invalidAddress(text) }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (0...65_535).contains(port) else { throw .invalidAddress(text) }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        guard !host.contains(where: { $0 == " " || $0 == "/" }) else { throw .invalidAddress(text) }
        self.host = host
        self.port = port
    }

    /// Whether the address is reachable from this machine only.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The address as `host:port` (`[::1]:8080` for IPv6).
    public var address: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Refuses a non-loopback address without a token, and an empty token.
    public func validate() throws(DashboardError) {
        if let token, token.count < 16 { throw .weakToken }
        if !isLoopback && token == nil { throw .tokenRequired(address) }
    }
}

/// Why the dashboard could not start.
public enum DashboardError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The address is not `ADDRESS:PORT`.
    case invalidAddress(String)
    /// A non-loopback address was asked for without a token.
    case tokenRequired(String)
    /// The token is too short to resist guessing.
    case weakToken
    /// The address could not be listened on (taken, or not this machine's).
    case cannotListen(address: String, reason: String)

    public var description: String {
        switch self {
        case .invalidAddress(let text):
            "\(text.debugDescription) is not ADDRESS:PORT (e.g. 127.0.0.1:8080, or 0.0.0.0:8080 with a token)"
        case .tokenRequired(let address):
            "listening on \(address) (not loopback) needs a token: --http-token or FIRN_HTTP_TOKEN"
        case .weakToken:
            "the HTTP token must be at least 16 characters"
        case .cannotListen(let address, let reason):
            "cannot listen on \(address): \(reason)"
        }
    }
}
