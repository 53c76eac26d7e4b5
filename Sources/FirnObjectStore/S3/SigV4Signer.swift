import Crypto
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// AWS Signature Version 4 for S3, as a pure function of a request, credentials and a time.
///
/// ``sign(_:at:)`` builds the canonical request (method, URI-encoded path, sorted query, sorted
/// lower-cased headers, payload hash), the string to sign (`AWS4-HMAC-SHA256`, the time, the
/// scope `date/region/s3/aws4_request` and the canonical request's hash), derives the signing key
/// by the HMAC-SHA256 chain over date, region, service and `aws4_request`, and returns the
/// `Authorization` header with the headers the signature covers. It does no I/O, so it is tested
/// against the worked examples in AWS's S3 documentation.
///
/// S3 paths are encoded once per segment and never normalised (unlike other AWS services, S3
/// does not double-encode), so the path given here must be the exact path requested.
///
/// ## Topics
/// - ``Request``
/// - ``Signature``
/// - ``sign(_:at:)``
/// - ``uriEncode(_:keepingSlashes:)``
public struct SigV4Signer: Sendable {
    /// The key that signs.
    public var credentials: S3Credentials
    /// The signing region, such as `us-east-1`.
    public var region: String
    /// The signing service. Defaults to `s3`.
    public var service: String

    /// The payload hash that leaves the body out of the signature.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The hex SHA-256 of an empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Creates a signer.
    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// What goes into a signature: everything except the time and the key.
    public struct Request: Sendable {
        /// The HTTP method, upper case: `GET`, `PUT`, `POST`, `HEAD`, `DELETE`.
        public var method: String
        /// The path, not percent-encoded (`/bucket/test$file.text`); each segment is encoded
        /// when signing, and the request must be sent with ``SigV4Signer/uriEncode(_:keepingSlashes:)``
        /// of the same path.
        public var path: String
        /// Query parameters, not percent-encoded, in any order. A valueless subresource such as
        /// `?uploads` is `("uploads", "")`.
        public var query: [(name: String, value: String)]
        /// Headers to sign, in any order and case; `Host` must be among them. The signer adds
        /// `x-amz-date`, `x-amz-content-sha256` and (with a session token) `x-amz-security-token`,
        /// replacing any given here.
        public var headers: [(name: String, value: String)]
        /// The hex SHA-256 of the body, or ``SigV4Signer/unsignedPayload``.
        public var payloadHash: String

        /// Creates a request description.
        public init(
            method: String,
            path: String,
            query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)],
            payloadHash: String
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// A computed signature and every intermediate step, so each can be checked.
    ///
    /// Holds the signature: do not log it.
    public struct Signature: Sendable {
        /// The canonical request, lines joined by `\n`.
        public var canonicalRequest: String
        /// `AWS4-HMAC-SHA256`, the time, the scope and the canonical request's hex SHA-256.
        public var stringToSign: String
        /// The hex HMAC-SHA256 of the string to sign under the derived signing key.
        public var signature: String
        /// The signed header names, lower case, sorted, joined by `;`.
        public var signedHeaders: String
        /// The `Authorization` header value.
        public var authorization: String
        /// The headers to send: the request's, the ones the signer adds, and `Authorization`.
        public var headers: [(name: String, value: String)]
    }

    /// Signs a request at a given time.
    ///
    /// - Parameters:
    ///   - request: The method, path, query, headers and payload hash.
    ///   - date: The signing time; S3 refuses requests more than 15 minutes off its clock.
    /// - Returns: The signature, its intermediate steps and the headers to send.
    public func sign(_ request: Request, at date: Date) -> Signature {
        let (day, time) = Self.amzDate(date)
        let added = ["x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "authorization"]
        var headers = request.headers.filter { !added.contains($0.name.lowercased()) }
        headers.append(("x-amz-content-sha256", request.payloadHash))
        headers.append(("x-amz-date", time))
        if let token = credentials.sessionToken { headers.append(("x-amz-security-token", token)) }

        var canonicalHeaders: [String: String] = [:]
        for (name, value) in headers {
            let key = name.lowercased().trimmingCharacters(in: .whitespaces)
            let trimmed = Self.trimAll(value)
            canonicalHeaders[key] = canonicalHeaders[key].map { $0 + "," + trimmed } ?? trimmed
        }
        let names = canonicalHeaders.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [
            request.method,
            Self.canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            names.map { "\($0):\(canonicalHeaders[$0]!)\n" }.joined(),
            signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")

        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", time, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope),"
            + "SignedHeaders=\(signedHeaders),Signature=\(signature)"
        headers.append(("Authorization", authorization))
        return Signature(
            canonicalRequest: canonicalRequest,
            stringToSign: stringToSign,
            signature: signature,
            signedHeaders: signedHeaders,
            authorization: authorization,
            headers: headers
        )
    }

    /// The canonical URI: each path segment URI-encoded, `/` kept; `/` for an empty path.
    public static func canonicalURI(_ path: String) -> String {
        path.isEmpty ? "/" : uriEncode(path, keepingSlashes: true)
    }

    /// The canonical query string: names and values URI-encoded (`/` too), sorted by name then
    /// value, `name=value` joined by `&`. This is also the query string to send.
    public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query.map { (uriEncode($0.name, keepingSlashes: false), uriEncode($0.value, keepingSlashes: false)) }
            .sorted { a, b in
                a.0 == b.0 ? a.1.utf8.lexicographicallyPrecedes(b.1.utf8) : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Percent-encodes as SigV4 requires: the unreserved `A-Z a-z 0-9 - _ . ~` stay, every other
    /// UTF-8 byte becomes `%XX` with upper-case hex; `/` stays when `keepingSlashes` (paths) and
    /// becomes `%2F` otherwise (query names and values).
    public static func uriEncode(_ text: String, keepingSlashes: Bool) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                encoded.append(byte)
            case UInt8(ascii: "/") where keepingSlashes:
                encoded.append(byte)
            default:
                encoded.append(UInt8(ascii: "%"))
                encoded.append(hexDigits[Int(byte >> 4)])
                encoded.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// The hex SHA-256 of a body, for ``Request/payloadHash``.
    public static func payloadHash(_ bytes: ByteBuffer) -> String {
        bytes.withUnsafeReadableBytes { hex(SHA256.hash(data: $0)) }
    }

    /// The scope date (`20130524`) and the `x-amz-date` time (`20130524T000000Z`) of a moment, in UTC.
    public static func amzDate(_ date: Date) -> (day: String, time: String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var utc = tm()
        gmtime_r(&seconds, &utc)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let day = pad(utc.tm_year + 1900, 4) + pad(utc.tm_mon + 1, 2) + pad(utc.tm_mday, 2)
        return (day, day + "T" + pad(utc.tm_hour, 2) + pad(utc.tm_min, 2) + pad(utc.tm_sec, 2) + "Z")
    }

    /// Trims a header value and folds runs of spaces into one, as canonical headers require.
    static func trimAll(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let hexDigits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
