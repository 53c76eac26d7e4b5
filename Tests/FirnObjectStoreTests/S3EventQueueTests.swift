import FirnBench
import Foundation
import NIOCore
import Testing

@testable import FirnObjectStore

/// ``S3EventQueue`` and ``S3Bucket/configureNotifications(queueArn:)`` against moto, which serves
/// SQS on the S3 port and sends S3 event notifications to SQS queues. Each test has a queue and
/// a bucket of its own. A `FIRN_TEST_S3_ENDPOINT` server must serve SQS too.
@Suite("S3 event queue")
struct S3EventQueueTests {
    let region = "us-east-1"

    /// A new queue with a unique name on the test server.
    func freshQueue() async throws -> S3EventQueue {
        try await S3EventQueue.create(
            named: "firn-events-" + UUID().uuidString.lowercased().prefix(13),
            endpoint: try await MotoServer.sharedEndpoint(),
            region: region,
            credentials: S3BucketTests.credentials
        )
    }

    /// Receives until `count` records arrived or 20 seconds passed; deletes nothing.
    func receive(_ count: Int, from queue: S3EventQueue) async throws -> [S3EventMessage] {
        var messages: [S3EventMessage] = []
        let deadline = Date().addingTimeInterval(20)
        while messages.flatMap(\.records).count < count && Date() < deadline {
            messages += try await queue.receive(maxMessages: 10, waitSeconds: 1)
        }
        return messages
    }

    @Test func createdObjectsUnderThePrefixArriveWithDecodedKeysAndDeleteEmptiesTheQueue() async throws {
        let queue = try await freshQueue()
        #expect(queue.arn == "arn:aws:sqs:us-east-1:123456789012:\(queue.name)")
        let bucket = try await S3BucketTests().freshBucket(prefix: "landing")
        try await bucket.configureNotifications(queueArn: queue.arn)
        let outside = S3Bucket(
            location: S3BucketTests.location(
                bucket.s3Location.bucket,
                prefix: "other",
                endpoint: bucket.s3Location.endpoint
            ),
            credentials: S3BucketTests.credentials
        )
        _ = try await outside.put(ByteBuffer(string: "not ours\n"), key: try ObjectKey("x.csv"))
        var stored: [ObjectInfo] = []
        for name in ["2026/11/25/a.csv", "2026/11/25/a b+c.csv", "2026/11/25/é~(1)%2F $&=.csv"] {
            stored.append(try await bucket.put(ByteBuffer(string: "id\n\(name)\n"), key: try ObjectKey(name)))
        }

        let messages = try await receive(3, from: queue)
        let records = messages.flatMap(\.records)
        #expect(records.count == 3, "one record per object under the prefix; the test event and other/ skipped")
        #expect(Set(records.map(\.key)) == Set(stored.map { "landing/" + $0.key.rawValue }))
        #expect(
            records.allSatisfy { $0.eventName.hasPrefix("ObjectCreated:") && $0.bucket == bucket.s3Location.bucket }
        )
        #expect(
            Set(records.compactMap(bucket.objectInfo(for:))) == Set(stored),
            "key relative to the prefix, size, ETag"
        )
        #expect(records.compactMap(outside.objectInfo(for:)).isEmpty, "not under other/")

        for message in messages { try await queue.delete(message) }
        let counts = try await queue.approximateMessageCounts()
        #expect(counts.visible == 0 && counts.inFlight == 0, "deleted, test event included: \(counts)")
        #expect(try await queue.receive(waitSeconds: 0).isEmpty)
    }

    @Test func handMadeMessagesParseAndOnlyObjectCreatedRecordsAreReturned() async throws {
        let queue = try await freshQueue()
        func event(_ name: String, _ key: String) -> String {
            #"{"Records":[{"eventName":"\#(name)","s3":{"bucket":{"name":"b"},"object":{"key":"\#(key)","size":7,"eTag":"\"abc\""}}}]}"#
        }
        try await queue.send(#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#)
        try await queue.send(event("ObjectRemoved:Delete", "landing/gone.csv"))
        try await queue.send("not json at all")
        try await queue.send(event("ObjectCreated:Put", "landing/dir/a+b%2Bc%C3%A9.csv"))
        let wrapped = String(
            data: try JSONEncoder().encode(event("ObjectCreated:Copy", "landing%2Fsns.csv")),
            encoding: .utf8
        )!
        try await queue.send(#"{"Type":"Notification","Message":\#(wrapped)}"#)

        let messages = try await receive(2, from: queue)
        let records = messages.flatMap(\.records).sorted { $0.key < $1.key }
        #expect(
            records == [
                S3EventRecord(
                    eventName: "ObjectCreated:Put",
                    bucket: "b",
                    key: "landing/dir/a b+cé.csv",
                    size: 7,
                    etag: "abc"
                ),
                S3EventRecord(
                    eventName: "ObjectCreated:Copy",
                    bucket: "b",
                    key: "landing/sns.csv",
                    size: 7,
                    etag: "abc"
                ),
            ]
        )
        for message in messages { try await queue.delete(message) }
        try await queue.delete(messages[0])  // twice is fine
        let counts = try await queue.approximateMessageCounts()
        #expect(counts.visible == 0 && counts.inFlight == 0, "the three skipped messages were deleted too: \(counts)")
    }

    @Test func aMissingQueueIsAServerErrorNamingItWithoutSecrets() async throws {
        let endpoint = try await MotoServer.sharedEndpoint()
        let queue = try S3EventQueue(
            url: endpoint.appendingPathComponent("123456789012/firn-no-such-queue"),
            region: region,
            credentials: S3BucketTests.credentials
        )
        do {
            _ = try await queue.receive(waitSeconds: 0)
            Issue.record("receiving from a missing queue succeeded")
        } catch let error as ObjectStoreError {
            guard case .server(let status, let code, let message, _) = error else {
                Issue.record("not a server error: \(error)")
                return
            }
            #expect(status == 400, "\(status)")
            #expect(code == "QueueDoesNotExist" || code.contains("NonExistentQueue"), "\(code)")
            #expect(message.contains("ReceiveMessage") && message.contains("firn-no-such-queue"))
            #expect(!error.description.contains(S3BucketTests.credentials.secretAccessKey))
        }
    }

    @Test func anUnreachableEndpointIsUnreachable() async throws {
        let port = try MotoServer.freePort()
        var queue = try S3EventQueue(
            url: URL(string: "http://127.0.0.1:\(port)/123456789012/q")!,
            region: region,
            credentials: S3BucketTests.credentials
        )
        queue.requestTimeout = .seconds(2)
        await #expect {
            try await queue.receive(waitSeconds: 0)
        } throws: { error in
            guard case ObjectStoreError.unreachable = error else { return false }
            return (error as? ObjectStoreError)?.isTransient == true
        }
    }

    @Test func keysDecodeAsS3EncodesThem() {
        #expect(S3EventMessage.decodedKey("landing%2Fa+b%2Bc.csv") == "landing/a b+c.csv")
        #expect(S3EventMessage.decodedKey("a/%C3%A9%25.csv") == "a/é%.csv")
        #expect(S3EventMessage.decodedKey("plain/key.csv") == "plain/key.csv")
        #expect(S3EventMessage.decodedKey("bad%FF.csv") == nil, "not UTF-8")
    }

    @Test func queueURLsAreCheckedAndArnsFollowThePartition() throws {
        let credentials = S3BucketTests.credentials
        let aws = try S3EventQueue(
            url: URL(string: "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/firn-events")!,
            region: "cn-north-1",
            credentials: credentials
        )
        #expect(aws.arn == "arn:aws-cn:sqs:cn-north-1:123456789012:firn-events")
        #expect(aws.name == "firn-events" && aws.accountID == "123456789012")
        #expect(aws.service.endpoint.absoluteString == "https://sqs.cn-north-1.amazonaws.com.cn")
        for bad in ["sqs.amazonaws.com/1/q", "ftp://h/1/q", "https://h/q", "https://h/1/q/x", "https://u:p@h/1/q"] {
            #expect(throws: ObjectStoreError.self, "\(bad)") { try S3EventQueue.queueURL(bad) }
        }
        do {
            _ = try S3EventQueue.queueURL("https://AKID:hunter2secret@h/1/q")
        } catch {
            #expect(!error.description.contains("hunter2secret"))
        }
    }

    @Test func theNotificationConfigurationFiltersByPrefix() {
        let xml = S3XML.notificationConfiguration(queueArn: "arn:aws:sqs:us-east-1:1:q", keyPrefix: "land&ing/")
        #expect(xml.contains("<Queue>arn:aws:sqs:us-east-1:1:q</Queue><Event>s3:ObjectCreated:*</Event>"))
        #expect(xml.contains("<FilterRule><Name>prefix</Name><Value>land&amp;ing/</Value></FilterRule>"))
        #expect(!S3XML.notificationConfiguration(queueArn: "q", keyPrefix: nil).contains("<Filter>"))
    }
}
