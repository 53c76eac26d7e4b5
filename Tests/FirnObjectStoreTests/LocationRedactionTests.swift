import FirnBench
import Foundation
import NIOCore
import Testing

@testable import FirnObjectStore

/// Issue 11: a password, user info or secret-looking query parameter in a bucket, endpoint or
/// queue URL never reaches a description or an error; credentials in a URL are refused, never
/// ignored.
@Suite("Location redaction")
struct LocationRedactionTests {
    static let secret = "hunter2secret"

    @Test(arguments: [
        "s3://AKIAEXAMPLE:hunter2secret@firn/changes",
        "s3://hunter2secret@firn/changes",
        "s3://AKIAEXAMPLE:hunter2/secret+x@firn/changes",
        "s3://firn/changes?endpoint=http://minio:hunter2secret@127.0.0.1:9000",
        "s3://firn/changes?endpoint=http://hunter2secret@127.0.0.1:9000",
        "s3://firn/changes?endpoint=http%3A%2F%2Fminio%3Ahunter2secret%40127.0.0.1%3A9000",
        "s3://firn/changes?endpoint=http://127.0.0.1:9000&X-Amz-Signature=hunter2secret",
        "s3://firn/changes?endpoint=http://127.0.0.1:9000&x-amz-security-token=hunter2secret",
        "s3://firn/changes?password=hunter2secret",
        "s3://firn/changes?endpoint=http://127.0.0.1:9000/?token=hunter2secret",
        "gs://user:hunter2secret@firn/changes",
    ])
    func bucketURLsWithSecretsAreRefusedWithoutEchoingThem(text: String) {
        do {
            let location = try BucketLocation(parsing: text)
            Issue.record("accepted \(text) as \(location)")
        } catch {
            #expect(!error.description.contains(Self.secret), "\(error)")
            #expect(!"\(error)".contains(Self.secret))
        }
    }

    @Test func credentialsInTheBucketAuthoritySayWhereCredentialsGo() {
        #expect {
            try BucketLocation(parsing: "s3://AKIAEXAMPLE:hunter2secret@firn/changes")
        } throws: { error in
            "\(error)".contains("AWS_ACCESS_KEY_ID") && "\(error)".contains("AWS_SECRET_ACCESS_KEY")
        }
    }

    @Test func aLocationsDescriptionHidesSecretsInItsEndpoint() {
        for endpoint in [
            "http://127.0.0.1:9000/?X-Amz-Security-Token=hunter2secret",
            "http://minio:hunter2secret@127.0.0.1:9000",
            "https://s3.example/base?X-Amz-Credential=AKID%2Fhunter2secret&X-Amz-Signature=hunter2secret",
        ] {
            let location = S3Location(bucket: "firn", prefix: "in", endpoint: URL(string: endpoint)!, addressing: .path)
            #expect(!location.description.contains(Self.secret), "\(location)")
            #expect(!BucketLocation.s3(location).description.contains(Self.secret))
            #expect(location.description.hasPrefix("s3://firn/in?endpoint="))
        }
    }

    @Test func anUnreachableEndpointsErrorDoesNotEchoItsSecrets() async throws {
        let port = try MotoServer.freePort()
        let endpoint = "http://127.0.0.1:\(port)/?X-Amz-Signature=hunter2secret&token=hunter2secret"
        let bucket = S3Bucket(
            location: S3Location(bucket: "firn", endpoint: URL(string: endpoint)!, addressing: .path),
            credentials: S3Credentials(accessKeyId: "AKIDFIRNTEST", secretAccessKey: "firn-test-secret-0123"),
            configuration: .init(requestTimeout: .seconds(1))
        )
        do {
            _ = try await bucket.head(ObjectKey("a.csv"))
            Issue.record("reached a port nothing listens on")
        } catch let error as ObjectStoreError {
            guard case .unreachable(let shown, _) = error else {
                Issue.record("expected unreachable, got \(error)")
                return
            }
            #expect(shown.contains("127.0.0.1:\(port)"))
            #expect(!error.description.contains(Self.secret), "\(error)")
            #expect(!"\(bucket)".contains(Self.secret))
        }
    }

    @Test(arguments: [
        "https://sqs.us-east-1.amazonaws.com/123456789012/q?X-Amz-Signature=hunter2secret",
        "https://sqs.us-east-1.amazonaws.com/123456789012/q/x?token=hunter2secret",
        "https://AKID:hunter2secret@sqs.us-east-1.amazonaws.com/123456789012/q",
        "https://AKID:hunter2/secret@sqs.us-east-1.amazonaws.com/123456789012/q",
    ])
    func queueURLErrorsDoNotEchoSecrets(text: String) {
        do {
            _ = try S3EventQueue.queueURL(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(!error.description.contains(Self.secret), "\(error)")
        }
    }
}
