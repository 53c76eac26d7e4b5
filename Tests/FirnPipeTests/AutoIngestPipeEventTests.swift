import FirnBench
import FirnCore
import FirnTestSupport
import FirnObjectStore
import FirnPipe
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import NIOCore
import Synchronization
import Testing

extension AutoIngestPipeTests {
    /// With listing an hour apart, only the S3 event notification on the SQS queue can tell the
    /// pipe about an object put after it started (moto sends them); it is loaded once, soon,
    /// and the message is deleted.
    @Test func anObjectReportedOnTheEventQueueLoadsOnceWithoutWaitingForAListing() async throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let endpoint = try await MotoServer.sharedEndpoint()
        let credentials = S3Credentials(accessKeyId: "firn-test", secretAccessKey: "firn-test-secret")
        let name = "firn-pipe-" + UUID().uuidString.lowercased().prefix(13)
        let bucket = S3Bucket(
            location: S3Location(bucket: name, prefix: "landing", endpoint: endpoint, addressing: .path),
            credentials: credentials
        )
        try await bucket.createBucket()
        let queue = try await S3EventQueue.create(
            named: name,
            endpoint: endpoint,
            region: "us-east-1",
            credentials: credentials
        )
        try await bucket.configureNotifications(queueArn: queue.arn)

        var configuration = configuration()
        configuration.pollInterval = .seconds(3600)  // the one listing is at start, before the upload
        configuration.eventQueue = queue
        let warehouse = try SQLiteWarehouse(path: root + "/firn.sqlite")
        let pipe = AutoIngestPipe(store: bucket, warehouse: warehouse, configuration: configuration)
        let key = try ObjectKey("2026/11/25/new file+1.csv")
        let header = "customer_id,first_name,last_name,email,street,city,state,country\n"
        let progress = Mutex(EventTestProgress())
        // Uploads after the start-up listing, waits for the load, then sends the same event
        // again (as SQS may) and waits until that message is handled and deleted too, then
        // reports an object that does not exist and sees its message held. All in
        // one pipe run: a stopped pipe's abandoned long poll can still take a message on the
        // server, hiding it for the queue's visibility timeout.
        let script: @Sendable () async throws -> Void = {
            try await Task.sleep(for: .seconds(1))
            let object = try await bucket.put(ByteBuffer(string: header + "1,Ann,,,,,,\n"), key: key)
            let uploaded = ContinuousClock.now
            while pipe.statistics.objectsLoaded == 0 { try await Task.sleep(for: .milliseconds(20)) }
            progress.withLock { $0.loadedAfter = ContinuousClock.now - uploaded }
            try await queue.send(
                #"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"\#(name)"},"object":"#
                    + #"{"key":"landing/2026/11/25/new+file%2B1.csv","size":\#(object.size),"eTag":"\#(object.etag)"}}}]}"#
            )
            while try await queue.approximateMessageCounts() != (0, 0) { try await Task.sleep(for: .milliseconds(50)) }
            // An object that cannot be taken (gone before it was downloaded) keeps its message.
            try await queue.send(
                #"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"\#(name)"},"object":"#
                    + #"{"key":"landing/gone.csv","size":1,"eTag":"0123"}}}]}"#
            )
            try await Task.sleep(for: .seconds(2))
            let held = try await queue.approximateMessageCounts()
            progress.withLock {
                $0.held = held
                $0.isDone = true
            }
            try await Task.sleep(for: .seconds(3600))
        }
        let done = try await run([pipe.run, script], for: 60) { progress.withLock { $0.isDone } }
        let loadedAfter = progress.withLock { $0.loadedAfter }
        #expect(done, "pipe \(pipe.statistics), loaded after \(String(describing: loadedAfter))")
        #expect(
            loadedAfter.map { $0 < .seconds(10) } == true,
            "loaded \(String(describing: loadedAfter)) after the upload"
        )
        #expect(pipe.statistics.objectsLoaded == 1 && pipe.statistics.objectsSkipped == 0, "\(pipe.statistics)")
        await #expect(try warehouse.query("SELECT first_name FROM customer").result.rows == [[.text("Ann")]])
        await #expect(try warehouse.loadHistoryTable().rows.map { $0[2] } == [.text(key.rawValue)], "loaded once")
        let held = progress.withLock { $0.held }
        #expect(held?.visible == 0 && held?.inFlight == 1, "received, not deleted: \(String(describing: held))")
        #expect(pipe.statistics.lastError?.contains("gone.csv") == true, "\(pipe.statistics)")
    }
}

/// How far the test script got: set by the script task, read by the test.
struct EventTestProgress {
    var loadedAfter: Duration?
    var held: (visible: Int, inFlight: Int)?
    var isDone = false
}
