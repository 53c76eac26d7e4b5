/// An access key for an S3-compatible service: the key id, its secret and, for temporary
/// credentials, a session token.
///
/// Neither ``description`` nor ``debugDescription`` reveals the secret or the session token; they
/// show at most the last four characters of the key id, so credentials can be logged by accident
/// without leaking. The library never reads the process environment itself: callers pass it to
/// ``fromEnvironment(_:)``.
public struct S3Credentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The access key id (`AKIA…`), sent in every request's `Authorization` header.
    public var accessKeyId: String
    /// The secret access key. It signs requests and is never sent.
    public var secretAccessKey: String
    /// The session token of temporary credentials, sent as `x-amz-security-token`; `nil` for
    /// long-term keys.
    public var sessionToken: String?

    /// Creates credentials.
    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and the optional `AWS_SESSION_TOKEN`.
    ///
    /// Pass `ProcessInfo.processInfo.environment`, or a dictionary built by a test.
    ///
    /// - Parameter environment: Environment variables by name.
    /// - Returns: The credentials the environment names.
    /// - Throws: ``ObjectStoreError`` (`missingCredentials`) naming the variables that are
    ///   missing or empty.
    public static func fromEnvironment(_ environment: [String: String]) throws(ObjectStoreError) -> S3Credentials {
        func value(_ name: String) -> String? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            return text
        }
        let keyId = value("AWS_ACCESS_KEY_ID")
        let secret = value("AWS_SECRET_ACCESS_KEY")
        guard let keyId, let secret else {
            let missing = [("AWS_ACCESS_KEY_ID", keyId), ("AWS_SECRET_ACCESS_KEY", secret)]
                .filter { $0.1 == nil }.map(\.0)
            throw .missingCredentials(
                "set \(missing.joined(separator: " and ")) (and AWS_SESSION_TOKEN for temporary credentials)"
            )
        }
        return S3Credentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN"))
    }

    /// Where credentials come from, for errors refusing them elsewhere (in a URL).
    public static let whereCredentialsComeFrom =
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials) instead"

    /// The key id's last four characters, for messages: `…MPLE`.
    public var redactedKeyId: String { "…" + accessKeyId.suffix(4) }

    public var description: String {
        "S3Credentials(\(redactedKeyId)\(sessionToken == nil ? "" : ", temporary"))"
    }

    public var debugDescription: String {
        "S3Credentials(accessKeyId: \(redactedKeyId), secretAccessKey: <redacted>, sessionToken: "
            + (sessionToken == nil ? "nil)" : "<redacted>)")
    }

    /// What `dump` and debuggers show: the redacted key id only.
    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyId": redactedKeyId, "secretAccessKey": "<redacted>"], displayStyle: .struct)
    }
}
