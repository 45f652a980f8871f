import Crypto
import Foundation
import SwiftASN1
import X509

/// Certificates made for a test with swift-certificates (P-256 keys), written as PEM files
/// to a temporary directory that goes away with this object.
final class TestPKI: Sendable {
    /// A certificate and its key as PEM files.
    struct Identity: Sendable {
        var certificate: String
        var key: String
    }

    /// The directory holding every file.
    let directory: URL
    /// The CA's certificate, the trust root for clients.
    let caFile: String
    /// The CA's key as its raw bytes: the key type itself is not `Sendable`.
    private let caKey: Data
    private let caName: DistinguishedName

    /// Makes a CA named `name`.
    init(name: String = "Herald Test CA") throws {
        self.directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("herald-tls-\(UUID().uuidString.lowercased())", isDirectory: true)
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let caKey = P256.Signing.PrivateKey()
        self.caKey = caKey.rawRepresentation
        self.caName = try DistinguishedName { CommonName(name) }
        let now = Date()
        let ca = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(caKey.publicKey),
            notValidBefore: now - 3600,
            notValidAfter: now + 86_400,
            issuer: self.caName,
            subject: self.caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey)
        )
        self.caFile = self.directory.appendingPathComponent("ca.pem").path
        try ca.serializeAsPEM().pemString.write(toFile: self.caFile, atomically: true, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// A server certificate signed by the CA for `dnsNames` and `ipAddresses` (IPv4), valid
    /// from `notBefore` to `notAfter`, written as `<name>.pem` and `<name>.key`.
    func server(
        _ name: String,
        dnsNames: [String] = ["localhost"],
        ipAddresses: [[UInt8]] = [[127, 0, 0, 1]],
        notBefore: Date = Date() - 3600,
        notAfter: Date = Date() + 86_400
    ) throws -> Identity {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(dnsNames.first ?? name) }
        let names = dnsNames.map { GeneralName.dnsName($0) }
            + ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0[...])) }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: self.caName,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: Certificate.PrivateKey(try P256.Signing.PrivateKey(rawRepresentation: self.caKey))
        )
        let identity = Identity(
            certificate: self.directory.appendingPathComponent("\(name).pem").path,
            key: self.directory.appendingPathComponent("\(name).key").path
        )
        try certificate.serializeAsPEM().pemString.write(toFile: identity.certificate, atomically: true, encoding: .utf8)
        try key.pemRepresentation.write(toFile: identity.key, atomically: true, encoding: .utf8)
        return identity
    }
}
