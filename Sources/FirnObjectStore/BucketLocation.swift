import FirnCore
import Foundation

/// Where a bucket is: `file:PATH` (a local directory) or
/// `s3://BUCKET/PREFIX?endpoint=URL&region=REGION&addressing=path|virtual`.
///
/// The description never contains credentials: they are not part of a location. A URL holding
/// them (`s3://KEY:SECRET@bucket`, an endpoint `http://user:password@host`) is refused, and
/// errors show the text through ``URLRedaction/redacted(_:)``.
public enum BucketLocation: Sendable, Hashable, CustomStringConvertible {
    /// A local directory used as a bucket.
    case directory(path: String)
    /// An S3-compatible bucket.
    case s3(S3Location)

    /// Parses a bucket URL.
    ///
    /// - Throws: ``ObjectStoreError`` (`invalidLocation`) naming the accepted forms.
    public init(parsing text: String) throws(ObjectStoreError) {
        if text.hasPrefix("file://") {
            self = .directory(path: String(text.dropFirst("file://".count)))
        } else if text.hasPrefix("file:") {
            self = .directory(path: String(text.dropFirst("file:".count)))
        } else if text.hasPrefix("s3://") {
            self = .s3(try S3Location(parsing: text))
        } else {
            throw .invalidLocation(
                URLRedaction.redacted(text),
                reason: "expected file:PATH or s3://BUCKET/PREFIX?endpoint=URL&region=REGION"
            )
        }
        if case .directory(let path) = self, path.isEmpty {
            throw .invalidLocation(URLRedaction.redacted(text), reason: "file: needs a directory path")
        }
    }

    public var description: String {
        switch self {
        case .directory(let path): "file:\(path)"
        case .s3(let location): location.description
        }
    }
}

/// An S3 bucket, an optional key prefix inside it, and how to reach it.
public struct S3Location: Sendable, Hashable, CustomStringConvertible {
    /// How the bucket appears in request URLs.
    public enum Addressing: String, Sendable, Hashable {
        /// `https://endpoint/bucket/key`: what local servers such as moto and MinIO expect.
        case path
        /// `https://bucket.endpoint/key`: AWS's default.
        case virtual
    }

    /// The bucket name.
    public var bucket: String
    /// The key prefix inside the bucket, without leading or trailing `/` (empty for none).
    public var prefix: String
    /// The endpoint (scheme, host and port). Defaults to `https://s3.<region>.amazonaws.com`.
    public var endpoint: URL
    /// The signing region. Defaults to `us-east-1`.
    public var region: String
    /// Path-style or virtual-hosted addressing. Defaults to `path` when an endpoint is given,
    /// `virtual` for AWS.
    public var addressing: Addressing

    /// Creates a location.
    public init(
        bucket: String,
        prefix: String = "",
        endpoint: URL,
        region: String = "us-east-1",
        addressing: Addressing
    ) {
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint
        self.region = region
        self.addressing = addressing
    }

    /// Parses `s3://BUCKET/PREFIX?endpoint=URL&region=REGION&addressing=path|virtual`.
    ///
    /// Credentials in the URL (`s3://KEY:SECRET@BUCKET`, or user info in the endpoint) are
    /// refused: they come from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    ///
    /// - Throws: ``ObjectStoreError`` (`invalidLocation`), showing the text redacted.
    public init(parsing text: String) throws(ObjectStoreError) {
        let shown = URLRedaction.redacted(text)
        // Bucket names hold neither `@` nor `:`; either before the path means user info (or a
        // port), which S3 URLs do not take. A secret may hold `/`, so look up to `?` as well.
        let authority = text.dropFirst("s3://".count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.contains("@") || authority.contains(":") {
            throw .invalidLocation(
                shown,
                reason: "a bucket URL holds no user, password or port; \(S3Credentials.whereCredentialsComeFrom)"
            )
        }
        guard let components = URLComponents(string: text), components.scheme == "s3",
            let bucket = components.host, !bucket.isEmpty
        else {
            throw .invalidLocation(shown, reason: "expected s3://BUCKET/PREFIX?endpoint=URL&region=REGION")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard ["endpoint", "region", "addressing"].contains(item.name) else {
                throw .invalidLocation(
                    shown,
                    reason: "unknown parameter \(item.name.debugDescription) (known: endpoint, region, addressing)"
                )
            }
            query[item.name] = item.value ?? ""
        }
        let region = query["region"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        let endpoint: URL
        if let given = query["endpoint"] {
            do {
                endpoint = try Self.endpoint(parsing: given)
            } catch {
                throw .invalidLocation(shown, reason: error.reason)
            }
        } else {
            endpoint = URL(string: "https://s3.\(region).amazonaws.com")!
        }
        let addressing: Addressing
        if let given = query["addressing"] {
            guard let parsed = Addressing(rawValue: given) else {
                throw .invalidLocation(text, reason: "addressing must be path or virtual")
            }
            addressing = parsed
        } else {
            addressing = query["endpoint"] == nil ? .virtual : .path
        }
        let prefix = components.path.split(separator: "/").joined(separator: "/")
        self.init(bucket: bucket, prefix: prefix, endpoint: endpoint, region: region, addressing: addressing)
    }

    /// Checks an S3 endpoint: an `http` or `https` URL with a host, an optional port and base
    /// path, no user info (credentials come from the environment) and no query or fragment
    /// (they would not be sent).
    ///
    /// - Parameter text: The endpoint, such as `http://127.0.0.1:5000`.
    /// - Returns: The endpoint's URL.
    /// - Throws: ``EndpointError``, whose reason never quotes a secret.
    public static func endpoint(parsing text: String) throws(EndpointError) -> URL {
        let shown = URLRedaction.redacted(text).debugDescription
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            if URLRedaction.containsUserInfo(text) {
                throw EndpointError(
                    reason: "endpoint \(shown) holds a user or password; \(S3Credentials.whereCredentialsComeFrom)"
                )
            }
            throw EndpointError(reason: "endpoint \(shown) must be an http(s) URL")
        }
        guard url.user == nil, url.password == nil, !URLRedaction.containsUserInfo(text) else {
            throw EndpointError(
                reason: "endpoint \(shown) holds a user or password; \(S3Credentials.whereCredentialsComeFrom)"
            )
        }
        guard url.query == nil, url.fragment == nil else {
            throw EndpointError(reason: "endpoint \(shown) must be scheme://host[:port][/path], without a query")
        }
        return url
    }

    /// Why an endpoint was refused (see ``endpoint(parsing:)``).
    public struct EndpointError: Error, Sendable, CustomStringConvertible {
        /// What is wrong, with the endpoint redacted.
        public var reason: String
        public var description: String { reason }
    }

    /// `s3://BUCKET/PREFIX?endpoint=…&region=…&addressing=…`, through ``URLRedaction/redacted(_:)``.
    public var description: String {
        var text = "s3://\(bucket)"
        if !prefix.isEmpty { text += "/\(prefix)" }
        return URLRedaction.redacted(
            text + "?endpoint=\(endpoint.absoluteString)&region=\(region)&addressing=\(addressing.rawValue)"
        )
    }
}
