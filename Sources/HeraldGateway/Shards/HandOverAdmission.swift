import DequeModule
import NIOConcurrencyHelpers

/// How many messages handed to a shard wait for it, with room for at most `limit`: a caller
/// that hands one over while that many wait is suspended until the shard takes some.
///
/// This is the API's back pressure. A shard has two: fan-out messages waiting for its next
/// pass (taken when a pass begins), and user-message writes waiting to run as the loop's
/// tasks (taken as each runs). A publisher faster than the devices can be written to is slowed
/// to their pace (its requests are answered later) instead of growing the queues, each
/// connection's writes and every delivery's latency without bound. Below the limit a hand-over
/// never waits, whatever the loop is doing.
final class HandOverAdmission: Sendable {
    private struct State {
        var queued = 0
        var waiting: Deque<CheckedContinuation<Void, Never>> = []

        /// Takes room for one message if there is some and nobody is ahead in line.
        mutating func takeRoom(limit: Int) -> Bool {
            guard self.queued < limit, self.waiting.isEmpty else { return false }
            self.queued += 1
            return true
        }
    }

    /// Messages that may wait for the shard.
    let limit: Int
    private let state = NIOLockedValueBox(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Messages waiting for the shard, and callers waiting for room.
    var snapshot: (queued: Int, waiting: Int) {
        self.state.withLockedValue { ($0.queued, $0.waiting.count) }
    }

    /// Takes room for one message, waiting while the queue is full. Room is handed out in the
    /// order it was asked for. Returns whether the caller had to wait (what it counted before
    /// may have changed meanwhile).
    @discardableResult
    func admit() async -> Bool {
        if self.state.withLockedValue({ $0.takeRoom(limit: self.limit) }) { return false }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = self.state.withLockedValue { state -> Bool in
                // Room may have come between the two looks.
                if state.takeRoom(limit: self.limit) { return true }
                state.waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
        return true
    }

    /// Takes room for one message without waiting (a caller on the shard's own loop, which
    /// must not suspend); the queue may then pass its limit by the few such messages.
    func admitNow() {
        self.state.withLockedValue { $0.queued += 1 }
    }

    /// The shard took `count` messages: their room goes to those waiting, in order.
    func taken(_ count: Int) {
        let resumed = self.state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.queued = max(0, state.queued - count)
            var resumed: [CheckedContinuation<Void, Never>] = []
            while state.queued < self.limit, let next = state.waiting.popFirst() {
                state.queued += 1
                resumed.append(next)
            }
            return resumed
        }
        for continuation in resumed { continuation.resume() }
    }
}
