import HeraldCore
import NIOConcurrencyHelpers

/// Whether ``PostgresStore/run()`` has started the connection pool.
///
/// postgres-nio queues a lease asked of a pool that is not running yet, and a queued lease
/// that is then cancelled (by a call's deadline) may never return: a test that migrated a
/// store whose pool task had not been scheduled yet hung that way. Calls therefore wait for
/// the pool to start, within their lease timeout, before they lease.
final class PostgresPoolStart: Sendable {
    private let started = NIOLockedValueBox(false)

    func markStarted() {
        self.started.withLockedValue { $0 = true }
    }

    /// Returns once the pool has started; throws ``MessageStoreError/unavailable(_:)`` if it
    /// has not within `timeout`.
    func wait(upTo timeout: Duration) async throws {
        if self.started.withLockedValue({ $0 }) { return }
        let deadline = ContinuousClock.now + timeout
        // Polled: this happens only while a process starts, for a few milliseconds.
        while !self.started.withLockedValue({ $0 }) {
            guard ContinuousClock.now < deadline else {
                throw MessageStoreError.unavailable("the PostgreSQL connection pool is not running (PostgresStore.run())")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
