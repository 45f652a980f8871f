import NIOConcurrencyHelpers

/// Runs one operation at a time per key, in the order the operations asked, without holding
/// a thread while one waits.
///
/// Broadcasts of one app go through it: the store numbers a broadcast, and the gateway must
/// receive it in that order, because each session takes broadcasts in sequence order and
/// leaves out one that arrives after a higher one. Holding the app's turn from the append
/// to the hand-over (which does not wait for any event loop) keeps the two orders the same;
/// different apps do not wait for each other.
final class KeyedSerialQueue: Sendable {
    private struct Turns {
        /// Whoever waits for the key, first come first served; the key is taken while it
        /// has an entry.
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let turns = NIOLockedValueBox<[String: Turns]>([:])

    init() {}

    /// Runs `body` once every earlier operation on `key` has finished.
    func run<Result: Sendable>(
        _ key: String,
        _ body: () async throws -> Result
    ) async throws -> Result {
        await self.acquire(key)
        defer { self.release(key) }
        return try await body()
    }

    /// Keys taken now (for tests).
    var takenKeys: Int {
        self.turns.withLockedValue { $0.count }
    }

    /// Operations waiting for `key` (for tests).
    func waitingCount(_ key: String) -> Int {
        self.turns.withLockedValue { $0[key]?.waiting.count ?? 0 }
    }

    private func acquire(_ key: String) async {
        if self.turns.withLockedValue({ Self.take(key, in: &$0) }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = self.turns.withLockedValue { turns -> Bool in
                // Released between the two looks: take it now.
                if Self.take(key, in: &turns) { return true }
                turns[key]?.waiting.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Takes `key` if nobody holds it.
    private static func take(_ key: String, in turns: inout [String: Turns]) -> Bool {
        guard turns[key] == nil else { return false }
        turns[key] = Turns()
        return true
    }

    private func release(_ key: String) {
        let next = self.turns.withLockedValue { turns -> CheckedContinuation<Void, Never>? in
            guard var entry = turns[key], !entry.waiting.isEmpty else {
                turns[key] = nil
                return nil
            }
            let next = entry.waiting.removeFirst()
            turns[key] = entry
            return next
        }
        // The key stays taken: it passes straight to the next in line.
        next?.resume()
    }
}
