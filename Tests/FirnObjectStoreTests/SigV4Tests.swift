import FirnObjectStore
import Foundation
import NIOCore
import Testing

/// The signer against the worked examples in AWS's S3 documentation ("Signature Calculations
/// for the Authorization Header: Transferring Payload in a Single Chunk", examplebucket,
/// 24 May 2013), whose canonical requests, strings to sign and signatures are copied here, and
/// against botocore for what those examples do not cover (encoded keys and query values, a
/// session token).
@Suite("SigV4 signer")
struct SigV4Tests {
    static let example = SigV4Signer(
        credentials: S3Credentials(
            accessKeyId: "AKIAIOSFODNN7EXAMPLE",
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        ),
        region: "us-east-1"
    )
    /// 2013-05-24T00:00:00Z.
    static let exampleDate = Date(timeIntervalSince1970: 1_369_353_600)
    static let host = ("Host", "examplebucket.s3.amazonaws.com")
    static let empty = SigV4Signer.emptyPayloadHash

    @Test func getObjectWithRangeMatchesAWSExample() {
        let signed = Self.example.sign(
            .init(
                method: "GET",
                path: "/test.txt",
                headers: [Self.host, ("Range", "bytes=0-9")],
                payloadHash: Self.empty
            ),
            at: Self.exampleDate
        )
        #expect(
            signed.canonicalRequest == """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """
        )
        #expect(
            signed.stringToSign == """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
                """
        )
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    }

    @Test func putObjectMatchesAWSExample() {
        let body = ByteBuffer(string: "Welcome to Amazon S3.")
        let payloadHash = SigV4Signer.payloadHash(body)
        #expect(payloadHash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let signed = Self.example.sign(
            .init(
                method: "PUT",
                path: "/test$file.text",
                headers: [
                    ("Date", "Fri, 24 May 2013 00:00:00 GMT"), Self.host, ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ],
                payloadHash: payloadHash
            ),
            at: Self.exampleDate
        )
        #expect(
            signed.canonicalRequest == """
                PUT
                /test%24file.text

                date:Fri, 24 May 2013 00:00:00 GMT
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                x-amz-date:20130524T000000Z
                x-amz-storage-class:REDUCED_REDUNDANCY

                date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
                44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                """
        )
        #expect(
            signed.stringToSign == """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d
                """
        )
        #expect(signed.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        #expect(signed.signedHeaders == "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class")
    }

    @Test func getBucketLifecycleMatchesAWSExample() {
        let signed = Self.example.sign(
            .init(method: "GET", path: "/", query: [("lifecycle", "")], headers: [Self.host], payloadHash: Self.empty),
            at: Self.exampleDate
        )
        #expect(
            signed.canonicalRequest == """
                GET
                /
                lifecycle=
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """
        )
        #expect(
            signed.stringToSign == """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca
                """
        )
        #expect(signed.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test func listObjectsMatchesAWSExampleWhateverTheQueryOrder() {
        for query in [[("max-keys", "2"), ("prefix", "J")], [("prefix", "J"), ("max-keys", "2")]] {
            let signed = Self.example.sign(
                .init(method: "GET", path: "/", query: query, headers: [Self.host], payloadHash: Self.empty),
                at: Self.exampleDate
            )
            #expect(
                signed.canonicalRequest == """
                    GET
                    /
                    max-keys=2&prefix=J
                    host:examplebucket.s3.amazonaws.com
                    x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                    x-amz-date:20130524T000000Z

                    host;x-amz-content-sha256;x-amz-date
                    e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                    """
            )
            #expect(
                signed.stringToSign.hasSuffix("\ndf57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7")
            )
            #expect(signed.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        }
    }

    /// Expected values computed with botocore's `S3SigV4Auth` (moto's client library) for the
    /// same request, time and keys.
    static let botocore = SigV4Signer(
        credentials: S3Credentials(
            accessKeyId: "AKIDFIRNTEST",
            secretAccessKey: "firn/test+secret",
            sessionToken: "tok/en=="
        ),
        region: "eu-west-1"
    )
    /// 2026-11-25T10:30:00Z.
    static let botocoreDate = Date(timeIntervalSince1970: 1_795_602_600)

    @Test func encodedKeyAndSessionTokenMatchBotocore() {
        let body = ByteBuffer(string: "hello")
        let signed = Self.botocore.sign(
            .init(
                method: "PUT",
                path: "/firn/landing/a b+c$é/x~y.csv",
                headers: [("Host", "127.0.0.1:9000")],
                payloadHash: SigV4Signer.payloadHash(body)
            ),
            at: Self.botocoreDate
        )
        #expect(
            signed.canonicalRequest == """
                PUT
                /firn/landing/a%20b%2Bc%24%C3%A9/x~y.csv

                host:127.0.0.1:9000
                x-amz-content-sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
                x-amz-date:20261125T103000Z
                x-amz-security-token:tok/en==

                host;x-amz-content-sha256;x-amz-date;x-amz-security-token
                2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
                """
        )
        #expect(signed.signature == "99f8cdd8205ed07ec38fd26523373981b1f9c0bae701b3171567fd8c7b185ca5")
        #expect(signed.headers.contains { $0.name == "x-amz-security-token" && $0.value == "tok/en==" })
    }

    @Test func encodedListingQueryMatchesBotocore() {
        let signed = Self.botocore.sign(
            .init(
                method: "GET",
                path: "/firn",
                query: [
                    ("list-type", "2"), ("prefix", "landing/"), ("start-after", "landing/a b+c"),
                    ("continuation-token", "1/2+3=="),
                ],
                headers: [("Host", "127.0.0.1:9000")],
                payloadHash: Self.empty
            ),
            at: Self.botocoreDate
        )
        #expect(
            signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2]
                == "continuation-token=1%2F2%2B3%3D%3D&list-type=2&prefix=landing%2F&start-after=landing%2Fa%20b%2Bc"
        )
        #expect(signed.signature == "24f214014951c9766fadd1cbdb0ed612db7a326488de5ef3d99274ca25e33b93")
    }

    @Test func headersAreLowerCasedTrimmedAndFolded() {
        let signed = Self.example.sign(
            .init(
                method: "GET",
                path: "",
                headers: [
                    Self.host, ("X-Amz-Meta-Note", "  a   b  "), ("x-amz-meta-note", "c"), ("X-Amz-Date", "stale"),
                ],
                payloadHash: SigV4Signer.unsignedPayload
            ),
            at: Self.exampleDate
        )
        let lines = signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[1] == "/")
        #expect(lines.contains("x-amz-meta-note:a b,c"))
        #expect(lines.contains("x-amz-date:20130524T000000Z"))
        #expect(!lines.contains("x-amz-date:stale"))
        #expect(lines.last == "UNSIGNED-PAYLOAD")
        #expect(signed.signedHeaders == "host;x-amz-content-sha256;x-amz-date;x-amz-meta-note")
    }

    @Test func uriEncodingFollowsAWSRules() {
        #expect(SigV4Signer.uriEncode("AZaz09-_.~", keepingSlashes: false) == "AZaz09-_.~")
        #expect(SigV4Signer.uriEncode("a b/c+d*é", keepingSlashes: true) == "a%20b/c%2Bd%2A%C3%A9")
        #expect(SigV4Signer.uriEncode("a b/c", keepingSlashes: false) == "a%20b%2Fc")
        #expect(SigV4Signer.uriEncode("%2F", keepingSlashes: true) == "%252F", "S3 keys are encoded exactly once")
    }

    @Test func amzDatesAreUTC() {
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 0)) == ("19700101", "19700101T000000Z"))
        #expect(SigV4Signer.amzDate(Self.exampleDate) == ("20130524", "20130524T000000Z"))
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_709_251_199.9)) == ("20240229", "20240229T235959Z"))
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 4_107_542_400)) == ("21000301", "21000301T000000Z"))
    }

    @Test func credentialsNeverShowTheSecret() throws {
        let credentials = try S3Credentials.fromEnvironment([
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_SESSION_TOKEN": "session-token-value",
        ])
        #expect(credentials.sessionToken == "session-token-value")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [credentials.description, credentials.debugDescription, "\(credentials)", dumped] {
            #expect(!text.contains("EXAMPLEKEY"))
            #expect(!text.contains("session-token-value"))
            #expect(!text.contains("AKIAIOSFODNN7"))
            #expect(text.contains("MPLE"))
        }
        let withoutToken = try S3Credentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "s"])
        #expect(withoutToken.sessionToken == nil)
    }

    @Test func missingCredentialsNameTheVariables() {
        #expect(throws: ObjectStoreError.self) { try S3Credentials.fromEnvironment([:]) }
        do {
            _ = try S3Credentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": ""])
            Issue.record("an empty secret was accepted")
        } catch {
            #expect(error.description.contains("AWS_SECRET_ACCESS_KEY"))
            #expect(!error.description.contains("AWS_ACCESS_KEY_ID and"))
        }
    }
}
