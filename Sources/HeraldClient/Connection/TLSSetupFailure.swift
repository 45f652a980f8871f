import NIOSSL

/// The client's TLS settings could not be used (a CA file that cannot be read, say).
struct TLSSetupFailure: Error, CustomStringConvertible {
    var trustRoots: HeraldClientTLS.TrustRoots
    var error: any Error

    var description: String {
        switch self.trustRoots {
        case .pemFile(let path):
            "cannot read the CA certificates in \(path): it is missing, unreadable, or not PEM"
        case .pem:
            "the CA certificates given are not PEM"
        case .system:
            "cannot set up TLS with the system's trust roots: \(self.error)"
        }
    }
}
