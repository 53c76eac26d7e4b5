import FirnCore
import Testing

/// ``URLRedaction``: user info and secret-looking query values become `***`, wherever the URL is.
@Suite struct URLRedactionTests {
    @Test(arguments: [
        ("postgres://firn:pw@db.example:5432/firn", "postgres://***@db.example:5432/firn"),
        ("postgres://firn@db.example/firn", "postgres://***@db.example/firn"),
        ("s3://AKIAEXAMPLE:a/b+c@bucket/prefix", "s3://***@bucket/prefix"),
        (
            "s3://bucket/prefix?endpoint=http://minio:pw@127.0.0.1:9000&region=eu-west-1",
            "s3://bucket/prefix?endpoint=http://***@127.0.0.1:9000&region=eu-west-1"
        ),
        ("s3://b?endpoint=http%3A%2F%2Fminio%3Apw%40127.0.0.1", "s3://b?endpoint=http%3A%2F%2F***%40127.0.0.1"),
        (
            "https://h/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKID%2F2026&X-Amz-Signature=abc&X-Amz-Security-Token=t",
            "https://h/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***"
        ),
        ("postgres://h/db?sslmode=require&password=pw", "postgres://h/db?sslmode=require&password=***"),
        // A value runs to the next space, `&` or quote: the `:` after it goes too.
        (
            "cannot reach http://u:pw@h:1/x?token=t: connection refused",
            "cannot reach http://***@h:1/x?token=*** connection refused"
        ),
        ("bucket \"s3://k:pw@b\": refused", "bucket \"s3://***@b\": refused"),
    ])
    func secretsAreMasked(text: String, expected: String) {
        #expect(URLRedaction.redacted(text) == expected)
    }

    @Test(arguments: [
        "s3://bucket/2026/a@b.csv?endpoint=http://127.0.0.1:5000&region=us-east-1&addressing=path",
        "https://s3.eu-west-1.amazonaws.com",
        "file:/tmp/bucket",
        "no URL here, key=value and a@b",
        "https://sqs.us-east-1.amazonaws.com/123456789012/firn-events",
    ])
    func textWithoutSecretsIsUnchanged(text: String) {
        #expect(URLRedaction.redacted(text) == text)
        #expect(!URLRedaction.containsUserInfo(text))
    }

    @Test func userInfoIsFound() {
        #expect(URLRedaction.containsUserInfo("http://u:p@h"))
        #expect(URLRedaction.containsUserInfo("x=http%3A%2F%2Fu%40h"))
        #expect(!URLRedaction.containsUserInfo("http://h/a@b"))
    }
}
