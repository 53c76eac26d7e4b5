import Foundation
import HTTPTypes
import Hummingbird

/// Who may use the dashboard, checked on every request before any route runs.
///
/// - With a token, every request must carry it: an `Authorization: Bearer` header, or the
///   `firn_token` cookie (HttpOnly, SameSite=Strict) that `GET /?token=…` sets before
///   redirecting to `/` (so the token leaves the address bar and history).
/// - Requests that change anything (POST) must also come from the page itself, never from
///   another site: they need the `X-Firn-Request` header (a browser sends a custom header
///   cross-site only after a CORS preflight, which this server never grants), and an `Origin`
///   or `Sec-Fetch-Site` header, when present, must say same origin.
///
/// A documented path asked with a method the document does not list gets 405 with `Allow`.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?
    let routes: RouteTable

    static var cookieName: String { "firn_token" }
    static var requestHeader: HTTPField.Name { HTTPField.Name("X-Firn-Request")! }

    @concurrent func handle(
        _ request: Request,
        context: Context,
        next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let token {
            if request.method == .get, request.uri.path == "/",
                let offered = request.uri.queryParameters["token"]
            {
                guard Self.equal(String(offered), token) else { return Self.refusal(.unauthorized, "wrong token") }
                var response = Response(status: .seeOther, headers: [.location: "/"])
                response.setCookie(
                    Cookie(name: Self.cookieName, value: token, path: "/", httpOnly: true, sameSite: .strict)
                )
                return response
            }
            guard let offered = Self.offeredToken(request), Self.equal(offered, token) else {
                return Self.refusal(
                    .unauthorized,
                    "this dashboard needs its token: open /?token=… once, or send Authorization: Bearer …"
                )
            }
        }
        if let allowed = routes.methods(for: request.uri.path), !allowed.contains(request.method.rawValue) {
            var response = Self.refusal(
                .methodNotAllowed,
                "\(request.method.rawValue) is not allowed on \(request.uri.path); use \(allowed.sorted().joined(separator: " or "))"
            )
            response.headers[.allow] = allowed.sorted().joined(separator: ", ")
            return response
        }
        if request.method != .get && request.method != .head {
            guard request.headers[Self.requestHeader] == "1" else {
                return Self.refusal(.forbidden, "changes need the header X-Firn-Request: 1 (sent by the page itself)")
            }
            if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" {
                return Self.refusal(.forbidden, "changes are accepted from this dashboard's own page only")
            }
            if let origin = request.headers[.origin], let host = request.head.authority,
                origin != "http://\(host)" && origin != "https://\(host)"
            {
                return Self.refusal(.forbidden, "changes are accepted from this dashboard's own page only")
            }
        }
        return try await next(request, context)
    }

    static func offeredToken(_ request: Request) -> String? {
        if let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") {
            return String(authorization.dropFirst("Bearer ".count))
        }
        return request.cookies[cookieName]?.value
    }

    /// Compares without stopping at the first difference, so timing tells nothing.
    static func equal(_ offered: String, _ token: String) -> Bool {
        let a = Array(offered.utf8)
        let b = Array(token.utf8)
        var difference = a.count ^ b.count
        for index in 0..<max(a.count, b.count) {
            difference |= Int((index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0))
        }
        return difference == 0
    }

    static func refusal(_ status: HTTPResponse.Status, _ message: String) -> Response {
        JSONResponse.error(APIError(status, message))
    }
}

/// The paths and methods the OpenAPI document lists, for answering 405 to the others.
struct RouteTable: Sendable {
    let routes: [(segments: [Substring], methods: Set<String>)]

    /// Reads the `paths` of an OpenAPI document.
    init(document: String) {
        let object = (try? JSONSerialization.jsonObject(with: Data(document.utf8))) as? [String: Any]
        let paths = object?["paths"] as? [String: [String: Any]] ?? [:]
        routes = paths.map { path, operations in
            (path.split(separator: "/", omittingEmptySubsequences: false), Set(operations.keys.map { $0.uppercased() }))
        }
    }

    /// The methods of the route matching `path` (a `{parameter}` matches any one segment), or
    /// `nil` when no route matches.
    func methods(for path: String) -> Set<String>? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        for route in routes where route.segments.count == segments.count {
            let matches = zip(route.segments, segments).allSatisfy { pattern, segment in
                pattern.hasPrefix("{") ? !segment.isEmpty : pattern == segment
            }
            if matches { return route.methods }
        }
        return nil
    }
}
