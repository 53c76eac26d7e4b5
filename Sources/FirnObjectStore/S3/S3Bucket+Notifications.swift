import Foundation
import NIOCore

extension S3Bucket {
    /// Makes S3 send an event notification to an SQS queue for every object created under the
    /// location's prefix (S3 `PutBucketNotificationConfiguration`, event `s3:ObjectCreated:*`,
    /// a `prefix` filter rule when the location has a prefix).
    ///
    /// This replaces the bucket's whole notification configuration, so it is meant for buckets
    /// that Firn owns, tests and first runs. S3 checks that it may send to the queue and sends
    /// an `s3:TestEvent` message, which ``S3EventQueue/receive(maxMessages:waitSeconds:)`` skips.
    /// On AWS the queue must be in the bucket's region and its access policy must allow
    /// `sqs:SendMessage` from `s3.amazonaws.com` for this bucket.
    ///
    /// - Parameter queueArn: The queue's ARN (``S3EventQueue/arn``).
    /// - Throws: ``ObjectStoreError``: `server` (for instance `InvalidArgument` when S3 cannot
    ///   send to the queue), `unreachable`.
    public func configureNotifications(queueArn: String) async throws {
        let keyPrefix = s3Location.prefix.isEmpty ? nil : s3Location.prefix + "/"
        let body = ByteBuffer(string: S3XML.notificationConfiguration(queueArn: queueArn, keyPrefix: keyPrefix))
        let response = try await send(.PUT, path: bucketPath, query: [("notification", "")], body: body, key: nil)
        try await check(response, key: nil)
        try await drain(response)
    }

    /// The object an S3 event record reports, as this bucket names it: `nil` when the record is
    /// about another bucket, a key outside the location's prefix, or a key that is not a valid
    /// ``ObjectKey`` (a folder marker such as `a/`).
    ///
    /// - Parameter record: A record from ``S3EventMessage/records``.
    /// - Returns: The key relative to the prefix, the size and the unquoted ETag.
    public func objectInfo(for record: S3EventRecord) -> ObjectInfo? {
        guard record.bucket == s3Location.bucket else { return nil }
        let keyPrefix = s3Location.prefix.isEmpty ? "" : s3Location.prefix + "/"
        // Compared and cut bytewise, as listings are: S3 keys are byte strings.
        guard record.key.utf8.starts(with: keyPrefix.utf8) else { return nil }
        let relative = String(decoding: record.key.utf8.dropFirst(keyPrefix.utf8.count), as: UTF8.self)
        guard let key = try? ObjectKey(relative) else { return nil }
        return ObjectInfo(key: key, size: record.size, etag: S3XML.unquoted(record.etag))
    }
}

extension S3XML {
    /// The `<NotificationConfiguration>` body sending `s3:ObjectCreated:*` events for keys
    /// starting with `keyPrefix` (all keys when `nil`) to the queue `queueArn`.
    static func notificationConfiguration(queueArn: String, keyPrefix: String?) -> String {
        var body =
            "<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><QueueConfiguration>"
            + "<Id>firn-object-created</Id><Queue>\(S3XMLElement.escape(queueArn))</Queue>"
            + "<Event>s3:ObjectCreated:*</Event>"
        if let keyPrefix {
            body +=
                "<Filter><S3Key><FilterRule><Name>prefix</Name><Value>\(S3XMLElement.escape(keyPrefix))</Value>"
                + "</FilterRule></S3Key></Filter>"
        }
        return body + "</QueueConfiguration></NotificationConfiguration>"
    }
}
