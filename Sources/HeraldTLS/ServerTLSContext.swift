import NIOConcurrencyHelpers
import NIOSSL

/// The TLS context of one listener, swapped whole when its files are read again.
///
/// A listener reads ``current`` when it accepts a connection, so a ``reload()`` reaches the
/// next connection while those already open keep the context of their handshake. A reload
/// that fails leaves the previous context in place.
public final class ServerTLSContext: Sendable {
    /// The files the context is made from.
    public let files: TLSFiles
    private let context: NIOLockedValueBox<NIOSSLContext>

    /// Reads `files` and makes a TLS 1.2+ server context of them.
    ///
    /// - Throws: ``TLSSetupError`` when a file is missing or unreadable, is not PEM, or the
    ///   key does not belong to the certificate.
    public init(files: TLSFiles) throws {
        self.files = files
        self.context = NIOLockedValueBox(try Self.makeContext(files))
    }

    /// The context for the next connection.
    public var current: NIOSSLContext {
        self.context.withLockedValue { $0 }
    }

    /// Reads the files again and, if they make a context, uses it from the next connection on.
    ///
    /// - Throws: ``TLSSetupError``; the previous context stays in use then.
    public func reload() throws {
        let context = try Self.makeContext(self.files)
        self.context.withLockedValue { $0 = context }
    }

    /// A TLS 1.2 or later server context of `files`.
    public static func makeContext(_ files: TLSFiles) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        } catch {
            throw TLSSetupError("cannot read the TLS certificate \(files.certificate): \(Self.reason(error))")
        }
        guard !chain.isEmpty else {
            throw TLSSetupError("the TLS certificate file \(files.certificate) holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.key, format: .pem)
        } catch {
            throw TLSSetupError("cannot read the TLS private key \(files.key): \(Self.reason(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError(
                "the TLS private key \(files.key) does not belong to the certificate \(files.certificate)")
        }
    }

    /// Why reading a file failed, in words.
    private static func reason(_ error: any Error) -> String {
        switch error {
        case let error as NIOSSLError where error == .failedToLoadCertificate:
            "the file is missing, unreadable, or not PEM"
        case let error as NIOSSLError where error == .failedToLoadPrivateKey:
            "the file is missing, unreadable, or not a PEM private key"
        default:
            "\(error)"
        }
    }
}
