import Logging
import ServiceLifecycle
import UnixSignals

/// Reads the listeners' certificates and keys again on every SIGHUP, until graceful
/// shutdown. Connections already open keep the session they have; new ones get the new
/// certificate.
struct TLSReloadService: Service {
    var tls: ListenerTLS
    /// Made before the node is ready, so that a SIGHUP is never the default one (which ends
    /// the process).
    var signals: UnixSignalsSequence
    var logger: Logger

    func run() async throws {
        for await _ in self.signals.cancelOnGracefulShutdown() {
            self.tls.reload(logger: self.logger)
        }
    }
}
