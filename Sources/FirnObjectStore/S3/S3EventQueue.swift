import AsyncHTTPClient
import FirnCore
import Foundation
import NIOCore

/// An Amazon SQS queue that receives a bucket's S3 event notifications, so new objects are
/// noticed within a second instead of at the next listing.
///
/// The queue is named by its URL, `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` on AWS
/// (`http://127.0.0.1:PORT/123456789012/NAME` on moto). Requests use SQS's JSON protocol,
/// signed with Signature Version 4 for service `sqs` in ``region``, which must be the bucket's
/// region: S3 sends notifications only to queues in the bucket's region. On AWS the queue's
/// access policy must also let `s3.amazonaws.com` call `sqs:SendMessage` for the bucket.
///
/// Messages are delivered at least once and in no particular order: a message not deleted
/// within the queue's visibility timeout is received again, and S3 itself may send an event
/// twice. Callers must therefore treat a record as a hint that an object may be new, as
/// `AutoIngestPipe` does (it takes each key and ETag once).
///
/// Errors are ``ObjectStoreError``: SQS's error responses become `server` with SQS's error code
/// (`QueueDoesNotExist`, `AccessDenied`…) and a message naming the action and queue; a
/// connection that cannot be made or breaks becomes `unreachable`. Credentials and signatures
/// appear in no error and no description.
///
/// ## Topics
/// - ``init(url:region:credentials:httpClient:)``
/// - ``create(named:endpoint:region:credentials:httpClient:)``
/// - ``receive(maxMessages:waitSeconds:)``
/// - ``delete(_:)``
/// - ``arn``
public struct S3EventQueue: Sendable, Hashable, CustomStringConvertible {
    /// The queue's URL.
    public let url: URL
    /// The queue's region, such as `us-east-1`; requests are signed for it.
    public let region: String
    /// The longest a request may take beyond its long-poll wait, connecting included; a request
    /// that takes longer throws `unreachable`. Defaults to `30` seconds.
    public var requestTimeout: TimeAmount = .seconds(30)
    let credentials: S3Credentials
    let httpClient: HTTPClient

    /// The queue's name, the last segment of its URL.
    public var name: String { url.lastPathComponent }

    /// The AWS account that owns the queue, the URL's second-to-last segment.
    public var accountID: String { url.deletingLastPathComponent().lastPathComponent }

    /// The queue's ARN, `arn:aws:sqs:REGION:ACCOUNT:NAME`, which a bucket's notification
    /// configuration names (``S3Bucket/configureNotifications(queueArn:)``).
    ///
    /// The partition follows the region: `aws-cn` for `cn-…`, `aws-us-gov` for `us-gov-…`.
    public var arn: String {
        let partition =
            region.hasPrefix("cn-") ? "aws-cn" : region.hasPrefix("us-gov-") ? "aws-us-gov" : "aws"
        return "arn:\(partition):sqs:\(region):\(accountID):\(name)"
    }

    public var description: String { "S3EventQueue(\(URLRedaction.redacted(url.absoluteString)))" }

    /// Names a queue. Nothing is sent until the first operation.
    ///
    /// - Parameters:
    ///   - url: The queue URL, as ``create(named:endpoint:region:credentials:httpClient:)`` or the
    ///     AWS console gives it: `http` or `https`, a host, and the path `/ACCOUNT/NAME`.
    ///   - region: The queue's region, which signs every request.
    ///   - credentials: The key that signs every request (see ``S3Credentials/fromEnvironment(_:)``).
    ///   - httpClient: The client that sends requests. Defaults to `HTTPClient.shared`.
    /// - Throws: ``ObjectStoreError`` (`invalidQueueURL`) when the URL is not a queue URL.
    public init(
        url: URL,
        region: String,
        credentials: S3Credentials,
        httpClient: HTTPClient = .shared
    ) throws(ObjectStoreError) {
        self.url = try Self.queueURL(url.absoluteString)
        self.region = region
        self.credentials = credentials
        self.httpClient = httpClient
    }

    /// Checks that text is an SQS queue URL and returns it, for command lines and configuration.
    ///
    /// - Parameter text: A URL such as `https://sqs.us-east-1.amazonaws.com/123456789012/firn-events`.
    /// - Returns: The URL.
    /// - Throws: ``ObjectStoreError`` (`invalidQueueURL`) saying what form is expected.
    public static func queueURL(_ text: String) throws(ObjectStoreError) -> URL {
        let expected =
            "expected http(s)://HOST/ACCOUNT/NAME, such as https://sqs.us-east-1.amazonaws.com/123456789012/firn-events"
        let shown = URLRedaction.redacted(text)
        guard !URLRedaction.containsUserInfo(text) else {
            throw .invalidQueueURL(
                shown,
                reason: "it must not hold credentials; \(S3Credentials.whereCredentialsComeFrom)"
            )
        }
        guard let url = URL(string: text) else { throw .invalidQueueURL(shown, reason: expected) }
        guard url.user == nil && url.password == nil else {
            throw .invalidQueueURL(
                shown,
                reason: "it must not hold credentials; \(S3Credentials.whereCredentialsComeFrom)"
            )
        }
        let segments = url.path.split(separator: "/", omittingEmptySubsequences: true)
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty, segments.count == 2, url.query == nil
        else { throw .invalidQueueURL(shown, reason: expected) }
        return url
    }

    /// Creates a queue, or returns the existing one of that name (SQS `CreateQueue`).
    ///
    /// For tests and first runs against a fresh server; the queue has SQS's default settings
    /// (30-second visibility timeout, 4-day retention).
    ///
    /// - Parameters:
    ///   - name: The queue's name: letters, digits, `-` and `_`, up to 80 characters.
    ///   - endpoint: The SQS endpoint, such as `https://sqs.us-east-1.amazonaws.com` or moto's URL.
    ///   - region: The region, which signs the request.
    ///   - credentials: The key that signs the request.
    ///   - httpClient: The client that sends it. Defaults to `HTTPClient.shared`.
    /// - Returns: The queue, named by the URL SQS returned.
    /// - Throws: ``ObjectStoreError``: `server` with SQS's code (for instance
    ///   `QueueAlreadyExists` when a queue of that name has other attributes), `unreachable`.
    public static func create(
        named name: String,
        endpoint: URL,
        region: String,
        credentials: S3Credentials,
        httpClient: HTTPClient = .shared
    ) async throws -> S3EventQueue {
        let service = SQSService(endpoint: endpoint, region: region, credentials: credentials, httpClient: httpClient)
        let result: CreateQueueResult = try await service.call(
            "CreateQueue",
            ["QueueName": .string(name)],
            timeout: .seconds(30),
            queue: name
        )
        return try S3EventQueue(
            url: try queueURL(result.QueueUrl),
            region: region,
            credentials: credentials,
            httpClient: httpClient
        )
    }

    /// Receives up to `maxMessages` messages that report created objects (SQS `ReceiveMessage`),
    /// waiting up to `waitSeconds` for the first to arrive (long polling).
    ///
    /// Received messages are hidden from other receivers for the queue's visibility timeout;
    /// delete each once handled (``delete(_:)``), or it is received again. Messages holding no
    /// `ObjectCreated` record (S3's `s3:TestEvent` when notifications are configured, other
    /// events, bodies that are not S3 events) are deleted here and not returned, so an empty
    /// result does not mean the queue is empty.
    ///
    /// - Parameters:
    ///   - maxMessages: At most this many messages, `1` to `10` (clamped). Defaults to `10`.
    ///   - waitSeconds: How long to wait for a message when none is waiting, `0` to `20`
    ///     (clamped). Defaults to `1`.
    /// - Returns: The messages with at least one ``S3EventRecord``.
    /// - Throws: ``ObjectStoreError`` (`server`, `unreachable`); `CancellationError` when the
    ///   calling task is cancelled.
    public func receive(maxMessages: Int = 10, waitSeconds: Int = 1) async throws -> [S3EventMessage] {
        let wait = min(max(waitSeconds, 0), 20)
        let result: ReceiveMessageResult = try await service.call(
            "ReceiveMessage",
            [
                "QueueUrl": .string(url.absoluteString),
                "MaxNumberOfMessages": .number(min(max(maxMessages, 1), 10)),
                "WaitTimeSeconds": .number(wait),
            ],
            timeout: requestTimeout + .seconds(Int64(wait)),
            queue: name
        )
        var messages: [S3EventMessage] = []
        for message in result.Messages ?? [] {
            let records = S3EventMessage.objectCreatedRecords(inBody: message.Body ?? "")
            if records.isEmpty {
                // Nothing to load: delete it so it is not received again. Should that fail, it
                // comes back after the visibility timeout and is deleted then.
                try? await delete(receiptHandle: message.ReceiptHandle)
                continue
            }
            messages.append(
                S3EventMessage(messageID: message.MessageId, receiptHandle: message.ReceiptHandle, records: records)
            )
        }
        return messages
    }

    /// Deletes a received message (SQS `DeleteMessage`), so it is not received again.
    ///
    /// Deleting a message twice is not an error.
    ///
    /// - Parameter message: A message ``receive(maxMessages:waitSeconds:)`` returned.
    /// - Throws: ``ObjectStoreError`` (`server`, for instance `ReceiptHandleIsInvalid`; `unreachable`).
    public func delete(_ message: S3EventMessage) async throws {
        try await delete(receiptHandle: message.receiptHandle)
    }

    /// Sends a message (SQS `SendMessage`). For tests that hand-make S3 event notifications;
    /// in production S3 sends them.
    ///
    /// - Parameter body: The message body, such as an S3 event notification's JSON.
    /// - Throws: ``ObjectStoreError`` (`server`, `unreachable`).
    public func send(_ body: String) async throws {
        let _: EmptyResult = try await service.call(
            "SendMessage",
            ["QueueUrl": .string(url.absoluteString), "MessageBody": .string(body)],
            timeout: requestTimeout,
            queue: name
        )
    }

    /// SQS's approximate counts of waiting (`visible`) and received but not yet deleted
    /// (`inFlight`) messages (SQS `GetQueueAttributes`). Approximate: SQS is distributed.
    ///
    /// - Throws: ``ObjectStoreError`` (`server`, `unreachable`).
    public func approximateMessageCounts() async throws -> (visible: Int, inFlight: Int) {
        let visible = "ApproximateNumberOfMessages"
        let inFlight = "ApproximateNumberOfMessagesNotVisible"
        let result: QueueAttributesResult = try await service.call(
            "GetQueueAttributes",
            ["QueueUrl": .string(url.absoluteString), "AttributeNames": .strings([visible, inFlight])],
            timeout: requestTimeout,
            queue: name
        )
        let attributes = result.Attributes ?? [:]
        return (Int(attributes[visible] ?? "") ?? 0, Int(attributes[inFlight] ?? "") ?? 0)
    }

    func delete(receiptHandle: String) async throws {
        let _: EmptyResult = try await service.call(
            "DeleteMessage",
            ["QueueUrl": .string(url.absoluteString), "ReceiptHandle": .string(receiptHandle)],
            timeout: requestTimeout,
            queue: name
        )
    }

    /// Where requests go: the queue URL's scheme, host and port.
    var service: SQSService {
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false) ?? URLComponents()
        components.path = ""
        components.query = nil
        return SQSService(
            endpoint: components.url ?? url,
            region: region,
            credentials: credentials,
            httpClient: httpClient
        )
    }

    public static func == (a: S3EventQueue, b: S3EventQueue) -> Bool {
        a.url == b.url && a.region == b.region && a.requestTimeout == b.requestTimeout
            && a.credentials == b.credentials && a.httpClient === b.httpClient
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(url)
        hasher.combine(region)
        hasher.combine(requestTimeout)
        hasher.combine(credentials)
        hasher.combine(ObjectIdentifier(httpClient))
    }
}

// The SQS JSON protocol's response shapes; field names are SQS's.
struct CreateQueueResult: Decodable {
    var QueueUrl: String
}

struct ReceiveMessageResult: Decodable {
    struct Message: Decodable {
        var MessageId: String
        var ReceiptHandle: String
        var Body: String?
    }
    var Messages: [Message]?
}

struct QueueAttributesResult: Decodable {
    var Attributes: [String: String]?
}

/// A response whose body is not read (`{}`).
struct EmptyResult: Decodable {}
