import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Writes acknowledgement cursors behind, in batches: ACKs only raise an in-memory cursor
/// per device, and every `interval` the raised ones go to the store in one call.
///
/// A crash loses at most the last interval's cursor moves, which replays messages the
/// device had acknowledged (its `resume.inbox` filters them); it can never lose an
/// unacknowledged one. Until a cursor is written, ``pendingCursor(app:user:device:)``
/// answers it, so a reconnect in between is not replayed what it acknowledged.
public final class AcknowledgementWriter: AcknowledgementSink, Service {
    /// By bytes, as the stores key cursors (``ByteString``).
    private struct DeviceKey: Hashable, Sendable {
        var app: ByteString
        var user: ByteString
        var device: ByteString

        init(app: String, user: String, device: String) {
            self.app = ByteString(app)
            self.user = ByteString(user)
            self.device = ByteString(device)
        }
    }

    private let store: any MessageStore
    private let interval: Duration
    private let logger: Logger
    private let pending = NIOLockedValueBox<[DeviceKey: UInt32]>([:])

    /// - Parameters:
    ///   - interval: how often raised cursors are written.
    public init(store: any MessageStore, interval: Duration = .milliseconds(200), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public func record(_ acknowledgement: InboxAcknowledgement) {
        let key = DeviceKey(app: acknowledgement.app, user: acknowledgement.user, device: acknowledgement.device)
        self.pending.withLockedValue { pending in
            if let current = pending[key], current >= acknowledgement.seq { return }
            pending[key] = acknowledgement.seq
        }
    }

    /// The device's acknowledged cursor not yet in the store, if any.
    public func pendingCursor(app: String, user: String, device: String) -> UInt32? {
        self.pending.withLockedValue { $0[DeviceKey(app: app, user: user, device: device)] }
    }

    /// Cursors waiting to be written.
    public var pendingCount: Int {
        self.pending.withLockedValue { $0.count }
    }

    /// Writes every pending cursor now. On failure they stay pending for the next try.
    public func flush() async throws {
        let batch = self.pending.withLockedValue { $0 }
        guard !batch.isEmpty else { return }
        try await self.store.acknowledge(
            batch.map {
                InboxAcknowledgement(
                    app: $0.key.app.string, user: $0.key.user.string, device: $0.key.device.string, seq: $0.value
                )
            }
        )
        self.pending.withLockedValue { pending in
            // Keep what rose while the batch was being written.
            for (key, seq) in batch where pending[key] == seq {
                pending[key] = nil
            }
        }
    }

    /// Flushes every `interval` until graceful shutdown, then once more.
    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let interval = self.interval
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            await self.flushLogging()
        }
        await self.flushLogging()
    }

    private func flushLogging() async {
        do {
            try await self.flush()
        } catch {
            self.logger.warning(
                "could not write acknowledgement cursors; will retry",
                metadata: ["store.error": "\(error)", "store.pending": "\(self.pendingCount)"]
            )
        }
    }
}
