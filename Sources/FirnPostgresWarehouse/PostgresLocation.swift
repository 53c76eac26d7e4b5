import FirnCore
import Foundation

/// Where a PostgreSQL warehouse is: server, credentials, database, TLS and the schema Firn's
/// tables live in, from a `postgres://` URL and the standard `PG*` environment variables.
///
/// The URL is `postgres://user:password@host:port/database?sslmode=…&schema=…`; every part may
/// be left out, and is then taken from `PGUSER`, `PGPASSWORD`, `PGHOST`, `PGPORT`,
/// `PGDATABASE` and `PGSSLMODE` (then `FIRN_PGSCHEMA` for the schema), or the defaults:
/// `localhost`, port 5432, the user name as the database, `sslmode=prefer`, schema `firn`.
/// ``description`` never shows the password.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    /// How the connection uses TLS, as libpq's `sslmode` says it.
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS when the server offers it, without checking its certificate; plain otherwise.
        case prefer
        /// TLS always, without checking the server's certificate.
        case require
        /// TLS always, the certificate checked against the system's roots and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// The schema Firn's tables are made in, so several deployments can share one database.
    public var schema: String

    /// Reads a `postgres://` (or `postgresql://`) URL, filling what it leaves out from
    /// `environment` (the process's by default).
    ///
    /// - Throws: ``PostgresLocationError`` naming what is wrong, never showing the password.
    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(
        PostgresLocationError
    ) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql"
        else {
            throw .invalid("\(URLRedaction.redacted(text)) is not a postgres:// URL")
        }
        let query = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") },
            uniquingKeysWith: { _, last in last }
        )
        for name in query.keys where !["sslmode", "schema"].contains(name) {
            throw .invalid("unknown option \(name) in \(URLRedaction.redacted(text)) (known: sslmode, schema)")
        }
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGHOST"] ?? "localhost"
        if let port = components.port {
            self.port = port
        } else if let text = environment["PGPORT"] {
            guard let port = Int(text), (1...65535).contains(port) else { throw .invalid("PGPORT \(text) is not a port") }
            self.port = port
        } else {
            port = 5432
        }
        user = components.user.flatMap { $0.removingPercentEncoding } ?? environment["PGUSER"] ?? NSUserName()
        password = components.password.flatMap { $0.removingPercentEncoding } ?? environment["PGPASSWORD"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? (environment["PGDATABASE"] ?? user) : (path.removingPercentEncoding ?? path)
        let mode = query["sslmode"] ?? environment["PGSSLMODE"] ?? "prefer"
        guard let sslMode = SSLMode(rawValue: mode) else {
            throw .invalid(
                "sslmode \(mode) is not supported (use \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        self.sslMode = sslMode
        let schema = query["schema"] ?? environment["FIRN_PGSCHEMA"] ?? "firn"
        guard Self.isPlainName(schema) else {
            throw .invalid("schema \(schema) must be letters, digits and _ (at most 63), starting with a letter or _")
        }
        self.schema = schema.lowercased()
    }

    /// Letters, digits and `_`, starting with a letter or `_`, at most 63 characters.
    static func isPlainName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 63 else { return false }
        let allowed = CharacterSet.letters.union(.decimalDigits).union(CharacterSet(charactersIn: "_"))
        return (CharacterSet.letters.contains(first) || first == "_")
            && name.unicodeScalars.allSatisfy { $0.isASCII && allowed.contains($0) }
    }

    /// The location without its password: `postgres://user@host:port/database?schema=…`.
    public var description: String {
        "postgres://\(user)@\(host):\(port)/\(database)?schema=\(schema)"
    }
}

/// A PostgreSQL location that cannot be used, with the reason.
public enum PostgresLocationError: Error, Sendable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let message): message
        }
    }
}
