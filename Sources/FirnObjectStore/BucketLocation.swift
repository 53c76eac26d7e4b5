import Foundation

/// Where a bucket is: `file:PATH` (a local directory) or
/// `s3://BUCKET/PREFIX?endpoint=URL&region=REGION&addressing=path|virtual`.
///
/// The description never contains credentials: they are not part of a location.
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
            throw .invalidLocation(text, reason: "expected file:PATH or s3://BUCKET/PREFIX?endpoint=URL&region=REGION")
        }
        if case .directory(let path) = self, path.isEmpty {
            throw .invalidLocation(text, reason: "file: needs a directory path")
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
    /// - Throws: ``ObjectStoreError`` (`invalidLocation`).
    public init(parsing text: String) throws(ObjectStoreError) {
        guard let components = URLComponents(string: text), components.scheme == "s3",
            let bucket = components.host, !bucket.isEmpty
        else {
            throw .invalidLocation(text, reason: "expected s3://BUCKET/PREFIX?endpoint=URL&region=REGION")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard ["endpoint", "region", "addressing"].contains(item.name) else {
                throw .invalidLocation(
                    text,
                    reason: "unknown parameter \(item.name.debugDescription) (known: endpoint, region, addressing)"
                )
            }
            query[item.name] = item.value ?? ""
        }
        let region = query["region"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        let endpoint: URL
        if let given = query["endpoint"] {
            guard let url = URL(string: given), let scheme = url.scheme, ["http", "https"].contains(scheme),
                url.host != nil
            else {
                throw .invalidLocation(text, reason: "endpoint \(given.debugDescription) must be an http(s) URL")
            }
            endpoint = url
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

    public var description: String {
        var text = "s3://\(bucket)"
        if !prefix.isEmpty { text += "/\(prefix)" }
        return text + "?endpoint=\(endpoint.absoluteString)&region=\(region)&addressing=\(addressing.rawValue)"
    }
}
