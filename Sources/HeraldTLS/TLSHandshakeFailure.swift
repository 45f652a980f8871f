import NIOSSL

/// A client's TLS handshake that failed, described for the person who reads it.
public struct TLSHandshakeFailure: Error, Sendable, CustomStringConvertible {
    /// The host connected to.
    public var host: String
    /// What the TLS handler reported.
    public var error: any Error

    /// Wraps the error of a handshake with `host`.
    public init(host: String, error: any Error) {
        self.host = host
        self.error = error
    }

    public var description: String {
        if let error = self.error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "the TLS certificate of \(self.host) is not valid for that host name"
        }
        if case .handshakeFailed(let reason) = self.error as? NIOSSLError,
            "\(reason)".contains("CERTIFICATE_VERIFY_FAILED")
        {
            return "the TLS certificate of \(self.host) was not accepted: it is expired or not yet valid, "
                + "or not signed by a trusted certificate authority"
        }
        return "the TLS handshake with \(self.host) failed: \(self.error)"
    }
}
