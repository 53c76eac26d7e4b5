import Foundation
import Testing

/// `--sqs-queue` is checked before anything runs: a queue URL, an `s3://` bucket, a loading command.
@MainActor @Suite struct SQSQueueOptionTests {
    @Test func theQueueNeedsAQueueURLAnS3BucketAndALoadingCommand() throws {
        let dir = try FirnProcess.temporaryDirectory("sqs-option")
        defer { FirnProcess.remove(dir) }
        let queue = "http://127.0.0.1:9/123456789012/firn-events"

        let notURL = try FirnProcess.run(["pipe", "--data-dir", dir.path, "--sqs-queue", "firn-events"])
        #expect(notURL.status != 0)
        #expect(notURL.stderr.contains("SQS queue URL") && notURL.stderr.contains("/ACCOUNT/NAME"), "\(notURL.stderr)")

        let fileBucket = try FirnProcess.run(["pipe", "--data-dir", dir.path, "--sqs-queue", queue])
        #expect(fileBucket.status != 0)
        #expect(fileBucket.stderr.contains("--sqs-queue needs an s3:// bucket"), "\(fileBucket.stderr)")

        let ingest = try FirnProcess.run(["ingest", "--data-dir", dir.path, "--sqs-queue", queue])
        #expect(ingest.status != 0)
        #expect(ingest.stderr.contains("--sqs-queue is for firn run and firn pipe"), "\(ingest.stderr)")
    }
}
