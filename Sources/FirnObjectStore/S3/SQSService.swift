import AsyncHTTPClient
import FirnCore
import Foundation
import NIOCore

/// A value in an SQS JSON request body.
enum SQSValue: Encodable, Sendable {
    case string(String)
    case number(Int)
    case strings([String])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let text): try container.encode(text)
        case .number(let number): try container.encode(number)
        case .strings(let texts): try container.encode(texts)
        }
    }
}

/// An SQS endpoint spoken to with the JSON protocol (`X-Amz-Target: AmazonSQS.<Action>`,
/// `application/x-amz-json-1.0`), each request signed with SigV4 for service `sqs`.
struct SQSService: Sendable {
    /// Scheme, host and port (and a base path, if any); requests go to its path, or `/`.
    var endpoint: URL
    var region: String
    var credentials: S3Credentials
    var httpClient: HTTPClient

    /// Sends one action and decodes its JSON result.
    ///
    /// - Parameters:
    ///   - action: The SQS action, such as `ReceiveMessage`.
    ///   - parameters: The request's members.
    ///   - timeout: The longest the request may take.
    ///   - queue: The queue's name, for error messages.
    /// - Throws: ``ObjectStoreError``: `server` for an error response (SQS's code, a message
    ///   naming the action and queue) or a success that does not decode; `unreachable` for
    ///   transport failures; `CancellationError` when the task is cancelled.
    func call<Result: Decodable>(
        _ action: String,
        _ parameters: [String: SQSValue],
        timeout: TimeAmount,
        queue: String
    ) async throws -> Result {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let body = ByteBuffer(bytes: try encoder.encode(parameters))
        let scheme = endpoint.scheme ?? "https"
        var host = endpoint.host ?? ""
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        if let port = endpoint.port, port != (scheme == "http" ? 80 : 443) { host += ":\(port)" }
        let path = endpoint.path.isEmpty ? "/" : endpoint.path
        let headers = [
            ("Host", host), ("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", "AmazonSQS.\(action)"),
        ]
        let signed = SigV4Signer(credentials: credentials, region: region, service: "sqs").sign(
            SigV4Signer.Request(
                method: "POST",
                path: path,
                headers: headers,
                payloadHash: SigV4Signer.payloadHash(body)
            ),
            at: Date()
        )
        var request = HTTPClientRequest(url: "\(scheme)://\(host)\(SigV4Signer.canonicalURI(path))")
        request.method = .POST
        for (name, value) in signed.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)

        let (status, bytes) = try await transport {
            let response = try await httpClient.execute(request, timeout: timeout)
            return (Int(response.status.code), try await response.body.collect(upTo: 16 << 20))
        }
        let context = "SQS \(action) on queue \(queue)"
        guard (200..<300).contains(status) else {
            let error = try? JSONDecoder().decode(ErrorBody.self, from: Data(bytes.readableBytesView))
            // `__type` is `com.amazonaws.sqs#QueueDoesNotExist`; keep the part after `#`.
            let code = error?.type?.split(separator: "#").last.map(String.init) ?? S3Bucket.code(forStatus: status)
            let message = error?.message ?? error?.Message ?? "HTTP \(status)"
            throw ObjectStoreError.server(
                status: status,
                code: code,
                message: redacted("\(context): \(message)"),
                key: nil
            )
        }
        let data = Data(bytes.readableBytesView)
        do {
            return try JSONDecoder().decode(Result.self, from: data.isEmpty ? Data("{}".utf8) : data)
        } catch {
            throw ObjectStoreError.server(
                status: 502,
                code: "InvalidResponse",
                message:
                    "\(context): the response is not the JSON SQS sends (HTTP \(status) from \(URLRedaction.redacted(endpoint.absoluteString)))",
                key: nil
            )
        }
    }

    /// Runs network work, turning transport failures into `unreachable` and cancellation into
    /// `CancellationError`.
    private func transport<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw ObjectStoreError.unreachable(
                endpoint: URLRedaction.redacted(endpoint.absoluteString),
                reason: redacted(String(describing: error))
            )
        }
    }

    /// Removes the secret and session token from text bound for an error, and URLs' secrets
    /// (``URLRedaction/redacted(_:)``), and keeps it short.
    private func redacted(_ text: String) -> String {
        var text = URLRedaction.redacted(text)
        for secret in [credentials.secretAccessKey, credentials.sessionToken ?? ""] where secret.count >= 4 {
            text = text.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return text.count > 500 ? String(text.prefix(500)) + "…" : text
    }

    /// An SQS JSON error: `{"__type": "com.amazonaws.sqs#Code", "message": "…"}`.
    private struct ErrorBody: Decodable {
        var type: String?
        var message: String?
        var Message: String?

        enum CodingKeys: String, CodingKey {
            case type = "__type"
            case message
            case Message
        }
    }
}
