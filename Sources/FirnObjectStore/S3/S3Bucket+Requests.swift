import AsyncHTTPClient
import FirnCore
import Foundation
import NIOCore

/// The HTTP methods S3 requests use.
enum S3Method: String, Sendable {
    case GET, PUT, POST, HEAD, DELETE
}

/// Where a request goes: the URL to send and the `Host` header it is signed with.
struct S3Address: Sendable, Equatable {
    /// The full URL, path and query percent-encoded as signed.
    var url: String
    /// The `Host` header: host, and the port when it is not the scheme's default.
    var host: String
    /// The path that was signed, not encoded: `/bucket/prefix/key` or `/prefix/key`.
    var path: String
}

extension S3Bucket {
    /// The object's S3 key: the location's prefix, `/`, then the key.
    func objectName(_ key: ObjectKey) -> String {
        s3Location.prefix.isEmpty ? key.rawValue : s3Location.prefix + "/" + key.rawValue
    }

    /// The request path of an object (not encoded).
    func objectPath(_ key: ObjectKey) -> String { bucketRoot + objectName(key) }

    /// The request path of the bucket itself: `/bucket` path-style, `/` virtual-hosted.
    var bucketPath: String {
        switch s3Location.addressing {
        case .path: endpointBasePath + "/" + s3Location.bucket
        case .virtual: endpointBasePath + "/"
        }
    }

    /// What precedes an object name in a request path.
    private var bucketRoot: String {
        switch s3Location.addressing {
        case .path: endpointBasePath + "/" + s3Location.bucket + "/"
        case .virtual: endpointBasePath + "/"
        }
    }

    /// The endpoint's own path (usually empty), without a trailing `/`.
    private var endpointBasePath: String {
        var path = s3Location.endpoint.path
        while path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// The endpoint as shown in errors, through ``URLRedaction/redacted(_:)``.
    var endpointDescription: String { URLRedaction.redacted(s3Location.endpoint.absoluteString) }

    /// The URL and `Host` header of a request to `path` with `query`.
    func address(path: String, query: [(name: String, value: String)] = []) -> S3Address {
        let endpoint = s3Location.endpoint
        let scheme = endpoint.scheme ?? "https"
        var host = endpoint.host ?? ""
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        if s3Location.addressing == .virtual { host = s3Location.bucket + "." + host }
        if let port = endpoint.port, port != (scheme == "http" ? 80 : 443) { host += ":\(port)" }
        var url = "\(scheme)://\(host)\(SigV4Signer.canonicalURI(path))"
        if !query.isEmpty { url += "?" + SigV4Signer.canonicalQuery(query) }
        return S3Address(url: url, host: host, path: path)
    }

    /// Signs and sends a request, returning the response with its body still to be read.
    ///
    /// The status is not checked (see ``check(_:key:)``). A connection that cannot be made, or
    /// breaks, throws `unreachable`.
    func send(
        _ method: S3Method,
        path: String,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        body: ByteBuffer? = nil,
        key: ObjectKey?,
        timeout: TimeAmount? = nil
    ) async throws -> HTTPClientResponse {
        let address = address(path: path, query: query)
        let signer = SigV4Signer(credentials: credentials, region: s3Location.region)
        let signed = signer.sign(
            SigV4Signer.Request(
                method: method.rawValue,
                path: path,
                query: query,
                headers: [("Host", address.host)] + headers,
                payloadHash: body.map(SigV4Signer.payloadHash) ?? SigV4Signer.emptyPayloadHash
            ),
            at: Date()
        )
        var request = HTTPClientRequest(url: address.url)
        switch method {
        case .GET: request.method = .GET
        case .PUT: request.method = .PUT
        case .POST: request.method = .POST
        case .HEAD: request.method = .HEAD
        case .DELETE: request.method = .DELETE
        }
        for (name, value) in signed.headers { request.headers.add(name: name, value: value) }
        // Unsigned, so a proxy may rewrite it: asks servers that negotiate compression for the
        // stored bytes, which keeps downloads byte-exact and Content-Length meaningful.
        request.headers.add(name: "Accept-Encoding", value: "identity")
        // async-http-client sets Content-Length (0 for a PUT or POST without a body).
        if let body { request.body = .bytes(body) }
        let deadline = timeout ?? configuration.requestTimeout
        return try await transport { try await httpClient.execute(request, timeout: deadline) }
    }

    /// Throws unless the response is a success (2xx): `notFound` for S3's `NoSuchKey`, `server`
    /// with S3's error code and message otherwise. Reads the body of a failed response.
    func check(_ response: HTTPClientResponse, key: ObjectKey?) async throws {
        let status = Int(response.status.code)
        guard !(200..<300).contains(status) else { return }
        let body = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
        let parsed = S3XML.error(body)
        let code = parsed.map(\.code).flatMap { $0.isEmpty ? nil : $0 } ?? Self.code(forStatus: status)
        if let key, code == "NoSuchKey" || (status == 404 && parsed == nil) {
            throw ObjectStoreError.notFound(key: key.rawValue)
        }
        let message = parsed.map(\.message).flatMap { $0.isEmpty ? nil : $0 } ?? response.status.reasonPhrase
        throw ObjectStoreError.server(status: status, code: code, message: redacted(message), key: key?.rawValue)
    }

    /// Reads and discards a response body, so the connection can be reused.
    func drain(_ response: HTTPClientResponse) async throws {
        try await transport {
            for try await _ in response.body {}
        }
    }

    /// Runs network work, turning transport failures into `unreachable` and cancellation into
    /// `CancellationError`; ``ObjectStoreError``s pass through.
    func transport<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as ObjectStoreError {
            throw error
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw ObjectStoreError.unreachable(
                endpoint: endpointDescription,
                reason: redacted(String(describing: error))
            )
        }
    }

    /// A `server` error for a success response S3 should not have sent (no upload id, no
    /// listing): code `InvalidResponse`, status 502 so that it counts as transient.
    func invalidResponse(_ response: HTTPClientResponse, _ problem: String, key: ObjectKey? = nil) -> ObjectStoreError {
        .server(
            status: 502,
            code: "InvalidResponse",
            message: "\(problem) (HTTP \(response.status.code) from \(endpointDescription))",
            key: key?.rawValue
        )
    }

    /// The response's ETag, without quotes.
    func etag(of response: HTTPClientResponse) -> String {
        S3XML.unquoted(response.headers.first(name: "ETag") ?? "")
    }

    /// The response's `Content-Length`, when it sent one.
    func contentLength(of response: HTTPClientResponse) -> Int64? {
        response.headers.first(name: "Content-Length").flatMap { Int64($0) }
    }

    /// Removes the secret and session token from text bound for an error, should a server
    /// echo them, and URLs' secrets (``URLRedaction/redacted(_:)``), and keeps it short.
    func redacted(_ text: String) -> String {
        var text = URLRedaction.redacted(text)
        for secret in [credentials.secretAccessKey, credentials.sessionToken ?? ""] where secret.count >= 4 {
            text = text.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return text.count > 500 ? String(text.prefix(500)) + "…" : text
    }

    /// A code for an error response without an `<Error>` body (`HEAD`, proxies).
    static func code(forStatus status: Int) -> String {
        switch status {
        case 301: "PermanentRedirect"
        case 400: "BadRequest"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 429: "TooManyRequests"
        case 503: "ServiceUnavailable"
        default: "HTTP\(status)"
        }
    }
}
