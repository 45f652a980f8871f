import NIOConcurrencyHelpers

/// Lets one async caller at a time use the single SQLite connection.
///
/// sqlite-nio runs each statement as its own thread-pool job, so the statements of two
/// transactions from different tasks would interleave on the one connection. Holding this
/// lock for a whole transaction keeps them apart. Waiters resume in FIFO order.
final class AsyncSerialLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var nextWaiter = 0
    }

    private let state = NIOLockedValueBox(State())

    init() {}

    /// Runs `body` while holding the lock.
    func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await self.lock()
        defer { self.unlock() }
        return try await body()
    }

    private func lock() async {
        let acquired = self.state.withLockedValue { state -> Bool in
            guard state.locked else {
                state.locked = true
                return true
            }
            return false
        }
        if acquired { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquiredNow = self.state.withLockedValue { state -> Bool in
                // The holder may have released the lock between the two critical sections.
                guard state.locked else {
                    state.locked = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquiredNow { continuation.resume() }
        }
    }

    private func unlock() {
        let next = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard state.nextWaiter < state.waiters.count else {
                state.waiters.removeAll(keepingCapacity: true)
                state.nextWaiter = 0
                state.locked = false
                return nil
            }
            // Ownership passes straight to the next waiter: `locked` stays true.
            let waiter = state.waiters[state.nextWaiter]
            state.nextWaiter += 1
            return waiter
        }
        next?.resume()
    }
}
