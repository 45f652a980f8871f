import NIOSSL

/// TLS to a Redis server (`rediss://`): the server's certificate must be valid for the host
/// connected to and signed by a trusted certificate authority.
public struct RedisTLS: Hashable, Sendable {
    /// PEM certificates of the authorities to trust instead of the system's, or `nil` for the
    /// system's (`rediss://…?cacert=FILE`, as `redis-cli --cacert`).
    public var caFile: String?

    /// TLS trusting the authorities in `caFile`, or the system's when it is `nil`.
    public init(caFile: String? = nil) {
        self.caFile = caFile
    }

    /// The client context: TLS 1.2 or later, the server's host name checked. Each connection
    /// makes its own; call it once at start to find a bad `caFile` before anything connects.
    ///
    /// - Throws: ``RedisClientError`` `invalidConfiguration` when `caFile` cannot be read as PEM.
    public func makeContext() throws(RedisClientError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = self.caFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw RedisClientError(
                    .invalidConfiguration,
                    message: "cannot read the CA certificates in \(caFile): it is missing, unreadable, or not PEM")
            }
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw RedisClientError(.invalidConfiguration, message: "TLS could not be set up: \(error)")
        }
    }
}
