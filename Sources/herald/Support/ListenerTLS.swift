import HeraldCommandLine
import HeraldTLS
import Logging

/// The TLS contexts of a node's three listeners, made from ``ServeSettings``; listeners that
/// name the same files share one context.
struct ListenerTLS: Sendable {
    var tcp: ServerTLSContext?
    var webSocket: ServerTLSContext?
    var api: ServerTLSContext?

    /// Reads every listener's certificate and key.
    ///
    /// - Throws: `CLIError` with the reason when a file is missing or unreadable, or a key
    ///   does not belong to its certificate.
    init(settings: ServeSettings) throws {
        var made: [TLSFiles: ServerTLSContext] = [:]
        func context(_ files: TLSFiles?, listener: String) throws -> ServerTLSContext? {
            guard let files else { return nil }
            if let context = made[files] { return context }
            do {
                let context = try ServerTLSContext(files: files)
                made[files] = context
                return context
            } catch {
                throw CLIError("the \(listener) listener cannot serve TLS: \(error)")
            }
        }
        self.tcp = try context(settings.tcpTLS, listener: "tcp")
        self.webSocket = try context(settings.webSocketTLS, listener: "ws")
        self.api = try context(settings.apiTLS, listener: "api")
    }

    /// Whether any listener serves TLS.
    var isEnabled: Bool { !self.contexts.isEmpty }

    /// Every distinct context once.
    var contexts: [ServerTLSContext] {
        var seen: [ServerTLSContext] = []
        for context in [self.tcp, self.webSocket, self.api].compactMap({ $0 }) where !seen.contains(where: { $0 === context }) {
            seen.append(context)
        }
        return seen
    }

    /// Reads every context's files again; a context whose files fail keeps serving its
    /// previous certificate, and the failure is logged.
    func reload(logger: Logger) {
        for context in self.contexts {
            do {
                try context.reload()
                logger.info("Reloaded the TLS certificate \(context.files.certificate).")
            } catch {
                logger.error("The TLS reload failed and the previous certificate stays in use: \(error).")
            }
        }
    }
}
