import Logging
import Metrics
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The background pass that purges what expired: inbox messages (into dead letters when no
/// device acknowledged them), broadcasts, idempotency records, and dead letters past the
/// per-app bound.
public final class StoreSweeper: Service {
    private let store: any MessageStore
    private let interval: Duration
    private let deadLetterLimit: Int
    private let chunk: Int
    private let logger: Logger
    private let deadLettered = Counter(label: "herald_dead_letters_total", dimensions: [("reason", "expired")])
    private let expired = Counter(label: "herald_inbox_expired_total")
    private let broadcastsTrimmed = Counter(label: "herald_broadcasts_expired_total")

    /// - Parameters:
    ///   - interval: time between passes.
    ///   - deadLetterLimit: dead letters kept per app.
    ///   - chunk: rows of each kind purged per transaction.
    public init(
        store: any MessageStore, interval: Duration = .seconds(30), deadLetterLimit: Int = 10_000,
        chunk: Int = 1_000, logger: Logger
    ) {
        self.store = store
        self.interval = interval
        self.deadLetterLimit = deadLetterLimit
        self.chunk = max(1, chunk)
        self.logger = logger
    }

    /// One pass, now: chunk after chunk of at most `chunk` rows of each kind, each in its
    /// own short transaction, until nothing expired is left (or the node shuts down).
    @discardableResult
    public func sweep(now: Date = Date()) async throws -> PurgeReport {
        var report = PurgeReport()
        repeat {
            report.add(try await self.store.purge(now: now, deadLetterLimit: self.deadLetterLimit, chunk: self.chunk))
            await Task.yield()
        } while !report.isComplete && !Task.isCancelled && !Task.isShuttingDownGracefully
        self.deadLettered.increment(by: report.deadLettered)
        self.expired.increment(by: report.expired)
        self.broadcastsTrimmed.increment(by: report.broadcasts)
        if report != PurgeReport() {
            self.logger.debug(
                "store sweep",
                metadata: [
                    "sweep.dead_lettered": "\(report.deadLettered)", "sweep.expired": "\(report.expired)",
                    "sweep.broadcasts": "\(report.broadcasts)",
                    "sweep.dead_letters_trimmed": "\(report.deadLettersTrimmed)",
                    "sweep.idempotency_records": "\(report.idempotencyRecords)",
                ]
            )
        }
        return report
    }

    /// Sweeps every `interval` until graceful shutdown.
    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await self.sweep()
            } catch {
                self.logger.warning("store sweep failed; will retry", metadata: ["store.error": "\(error)"])
            }
            let interval = self.interval
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
        }
    }
}
