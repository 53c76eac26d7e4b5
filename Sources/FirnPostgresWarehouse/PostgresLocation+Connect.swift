import FirnWarehouse
import Logging
import NIOSSL
import PostgresNIO

extension PostgresLocation {
    /// The connection pool's configuration for this location: TLS as ``sslMode`` says,
    /// `search_path` set to ``schema`` on every connection, at most `maximumConnections`.
    ///
    /// - Throws: ``WarehouseError/cannotOpen(location:reason:)`` when TLS cannot be set up.
    public func clientConfiguration(maximumConnections: Int = 8) throws(WarehouseError) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host,
            port: port,
            username: user,
            password: password,
            database: database,
            tls: try tls().pool
        )
        configuration.options.maximumConnections = maximumConnections
        configuration.options.additionalStartupParameters = [
            ("search_path", "\"\(schema)\""), ("application_name", "firn"),
        ]
        return configuration
    }

    /// One connection's configuration (no `search_path`): what ``PostgresWarehouse/open`` tries
    /// first, so a wrong password or a stopped server fails at once.
    func connectionConfiguration(connectTimeout: TimeAmount = .seconds(10)) throws(WarehouseError)
        -> PostgresConnection.Configuration
    {
        var configuration = PostgresConnection.Configuration(
            host: host,
            port: port,
            username: user,
            password: password,
            database: database,
            tls: try tls().connection
        )
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    /// The same server and credentials with another schema.
    public func inSchema(_ name: String) -> PostgresLocation {
        var location = self
        location.schema = name.lowercased()
        return location
    }

    private func tls() throws(WarehouseError) -> (
        pool: PostgresClient.Configuration.TLS, connection: PostgresConnection.Configuration.TLS
    ) {
        do {
            switch sslMode {
            case .disable:
                return (.disable, .disable)
            case .prefer, .require:
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .none
                let context = try NIOSSLContext(configuration: configuration)
                return sslMode == .prefer
                    ? (.prefer(configuration), .prefer(context)) : (.require(configuration), .require(context))
            case .verifyFull:
                let configuration = TLSConfiguration.makeClientConfiguration()
                return (.require(configuration), .require(try NIOSSLContext(configuration: configuration)))
            }
        } catch {
            throw .cannotOpen(location: description, reason: "TLS: \(error)")
        }
    }
}
