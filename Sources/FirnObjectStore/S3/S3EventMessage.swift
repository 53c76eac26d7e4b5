import Foundation

/// One object S3 reports as created, read from an event notification.
///
/// S3 encodes keys in notifications as HTML form values (a space is `+`, other bytes `%XX`);
/// ``key`` is decoded back to the object's real key, the bucket's prefix still in front of it
/// (see ``S3Bucket/objectInfo(for:)`` for the key relative to a bucket location).
public struct S3EventRecord: Sendable, Hashable {
    /// The event, without the `s3:` prefix: `ObjectCreated:Put`, `ObjectCreated:CompleteMultipartUpload`…
    public var eventName: String
    /// The bucket's name.
    public var bucket: String
    /// The object's full S3 key, decoded.
    public var key: String
    /// The object's size in bytes (`0` when the event does not say).
    public var size: Int64
    /// The object's ETag, without quotes (empty when the event does not say).
    public var etag: String

    /// Creates a record.
    public init(eventName: String, bucket: String, key: String, size: Int64, etag: String) {
        self.eventName = eventName
        self.bucket = bucket
        self.key = key
        self.size = size
        self.etag = etag
    }
}

/// A message received from an ``S3EventQueue``: the receipt handle that deletes it and the
/// `ObjectCreated` records it carries.
///
/// ``S3EventQueue/receive(maxMessages:waitSeconds:)`` returns only messages with at least one
/// record; S3's `s3:TestEvent`, events other than `ObjectCreated` and bodies that are not S3
/// events are deleted there and never returned.
public struct S3EventMessage: Sendable, Hashable {
    /// SQS's id of the message.
    public var messageID: String
    /// The handle that deletes the message (``S3EventQueue/delete(_:)``); valid until the
    /// message becomes visible again.
    public var receiptHandle: String
    /// The objects the message reports as created, in the order S3 listed them.
    public var records: [S3EventRecord]

    /// Creates a message.
    public init(messageID: String, receiptHandle: String, records: [S3EventRecord]) {
        self.messageID = messageID
        self.receiptHandle = receiptHandle
        self.records = records
    }

    /// The `ObjectCreated` records in an S3 event notification body; empty for `s3:TestEvent`,
    /// other events and bodies that are not S3 notifications.
    ///
    /// A notification delivered through SNS (an SNS `Notification` envelope around the S3
    /// event) is unwrapped. Records whose key does not decode are left out; the bucket listing
    /// still finds those objects.
    static func objectCreatedRecords(inBody body: String) -> [S3EventRecord] {
        let decoder = JSONDecoder()
        guard var event = try? decoder.decode(Body.self, from: Data(body.utf8)) else { return [] }
        if event.records == nil, event.type == "Notification", let inner = event.message,
            let unwrapped = try? decoder.decode(Body.self, from: Data(inner.utf8))
        {
            event = unwrapped
        }
        return (event.records ?? []).compactMap { record in
            guard let name = record.eventName, let object = record.s3?.object, let bucket = record.s3?.bucket?.name
            else { return nil }
            let eventName = name.hasPrefix("s3:") ? String(name.dropFirst(3)) : name
            guard eventName.hasPrefix("ObjectCreated:"), let key = decodedKey(object.key) else { return nil }
            return S3EventRecord(
                eventName: eventName,
                bucket: bucket,
                key: key,
                size: object.size ?? 0,
                etag: S3XML.unquoted(object.eTag ?? "")
            )
        }
    }

    /// Decodes a key as S3 writes it in notifications: `+` is a space, `%XX` a byte. `nil` when
    /// the bytes are not UTF-8.
    static func decodedKey(_ encoded: String) -> String? {
        encoded.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// The parts of an S3 event notification (or its SNS envelope) that are read.
    private struct Body: Decodable {
        var records: [Record]?
        var type: String?
        var message: String?

        enum CodingKeys: String, CodingKey {
            case records = "Records"
            case type = "Type"
            case message = "Message"
        }
    }

    private struct Record: Decodable {
        var eventName: String?
        var s3: Entity?
    }

    private struct Entity: Decodable {
        var bucket: Bucket?
        var object: Object?
    }

    private struct Bucket: Decodable {
        var name: String
    }

    private struct Object: Decodable {
        var key: String
        var size: Int64?
        var eTag: String?
    }
}
