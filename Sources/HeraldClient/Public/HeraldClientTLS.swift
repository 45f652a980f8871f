/// How a ``HeraldClient`` checks the server of a `tls://` or `wss://` connection.
///
/// By default the server's certificate must chain to the system's trust roots and name the
/// host connected to (its DNS name, or its IP address when the host is one).
public struct HeraldClientTLS: Sendable, Hashable {
    /// The certificate authorities the server's certificate must chain to.
    public enum TrustRoots: Sendable, Hashable {
        /// The operating system's trust store.
        case system
        /// The PEM certificates in this file, for example a private CA's.
        case pemFile(String)
        /// These PEM certificates, as text.
        case pem(String)
    }

    /// The certificate authorities trusted.
    public var trustRoots: TrustRoots
    /// Whether the certificate must name the host connected to. Turn off only for tests.
    public var verifiesHostname: Bool

    /// Creates TLS settings; the defaults trust the system's roots and check the host name.
    public init(trustRoots: TrustRoots = .system, verifiesHostname: Bool = true) {
        self.trustRoots = trustRoots
        self.verifiesHostname = verifiesHostname
    }
}
