import NIOSSL

/// A TLS handshake that failed, described for the person reading the disconnect reason.
struct TLSHandshakeFailure: Error, CustomStringConvertible {
    var host: String
    var error: any Error

    var description: String {
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
