import HeraldTLS
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

extension PostgresStore {
    /// Why a connection to the server cannot be opened, as a sentence; nil when one opens.
    ///
    /// The pool only reports that no connection came within the lease timeout; a process
    /// whose first call failed so asks once, with one connection of its own, what the
    /// server or its TLS said. A configuration made from a `PostgresClient.Configuration`
    /// rather than a URL is checked without TLS.
    public func connectionFailure() async -> String? {
        let client = self.configuration.client
        guard let host = client.host else { return nil }
        let port = client.port ?? 5432
        var configuration = PostgresConnection.Configuration(
            host: host,
            port: port,
            username: client.username,
            password: client.password,
            database: client.database,
            tls: self.configuration.connectionTLS
        )
        configuration.options.connectTimeout = TimeAmount(self.configuration.leaseTimeout)
        do {
            let connection = try await PostgresConnection.connect(
                on: PostgresClient.defaultEventLoopGroup.any(),
                configuration: configuration,
                id: 0,
                logger: Logger(label: "herald.postgres.check")
            ).get()
            try? await connection.close()
            return nil
        } catch let error as PSQLError {
            let reason: String
            switch error.underlying {
            case let underlying as NIOSSLError:
                reason = TLSHandshakeFailure(host: host, error: underlying).description
            case let underlying as NIOSSLExtraError:
                reason = TLSHandshakeFailure(host: host, error: underlying).description
            case let underlying?:
                reason = "\(underlying)"
            case nil:
                reason = error.serverInfo?[.message] ?? "\(error.code)"
            }
            return "cannot connect to PostgreSQL at \(host):\(port): \(reason)"
        } catch {
            return "cannot connect to PostgreSQL at \(host):\(port): \(error)"
        }
    }
}
