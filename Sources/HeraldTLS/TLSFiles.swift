/// The PEM files of one listener's certificate chain and private key.
public struct TLSFiles: Sendable, Hashable, CustomStringConvertible {
    /// The certificate chain, leaf first.
    public var certificate: String
    /// The private key of the leaf certificate.
    public var key: String

    /// Names the two files; nothing is read until a context is made from them.
    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }

    public var description: String { "\(self.certificate) and \(self.key)" }
}
