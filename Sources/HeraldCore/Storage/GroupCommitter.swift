import NIOConcurrencyHelpers

/// Runs concurrent requests through shared commits, so that many writers pay for one
/// transaction and one fsync instead of one each (group commit).
///
/// The first caller to find no commit running leads: it takes up to `maxBatch` queued
/// requests (its own first), commits them, hands every caller its result and, if more
/// requests queued meanwhile, passes the lead to the oldest of them. No task is spawned
/// and no caller leads for longer than its own batch.
public final class GroupCommitter<Request: Sendable, Response: Sendable>: Sendable {
    /// Commits a batch; returns one result per request, in order. Throwing fails the batch.
    public typealias Commit = @Sendable ([Request]) async throws -> [Result<Response, any Error>]

    /// Thrown to every request of a batch whose commit answered the wrong number of results.
    public struct MismatchedResults: Error, Sendable {}

    private enum Outcome: Sendable {
        case result(Result<Response, any Error>)
        case lead
    }

    private final class Slot: Sendable {
        private enum State {
            case pending
            case waiting(CheckedContinuation<Outcome, Never>)
            case ready(Outcome)
        }

        private let state = NIOLockedValueBox(State.pending)

        func deliver(_ outcome: Outcome) {
            let waiter: CheckedContinuation<Outcome, Never>? = self.state.withLockedValue { state in
                switch state {
                case .pending, .ready:
                    state = .ready(outcome)
                    return nil
                case .waiting(let continuation):
                    state = .pending
                    return continuation
                }
            }
            waiter?.resume(returning: outcome)
        }

        func wait() async -> Outcome {
            await withCheckedContinuation { continuation in
                let ready: Outcome? = self.state.withLockedValue { state in
                    switch state {
                    case .ready(let outcome):
                        state = .pending
                        return outcome
                    case .pending:
                        state = .waiting(continuation)
                        return nil
                    case .waiting:
                        preconditionFailure("two waiters on one group-commit slot")
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    private struct Entry: Sendable {
        var request: Request
        var slot: Slot
    }

    private struct State: Sendable {
        var queue: [Entry] = []
        /// Invariant: the queue is non-empty only while someone leads.
        var leading = false
    }

    private let state = NIOLockedValueBox(State())
    private let maxBatch: Int
    private let commit: Commit

    /// - Parameters:
    ///   - maxBatch: the most requests one commit takes.
    ///   - commit: runs one batch in one transaction.
    public init(maxBatch: Int = 512, commit: @escaping Commit) {
        self.maxBatch = max(1, maxBatch)
        self.commit = commit
    }

    /// Queues `request` for the next commit and returns its result once committed.
    public func submit(_ request: Request) async throws -> Response {
        let slot = Slot()
        let leads = self.state.withLockedValue { state in
            state.queue.append(Entry(request: request, slot: slot))
            if state.leading { return false }
            state.leading = true
            return true
        }
        var outcome: Outcome = leads ? .lead : await slot.wait()
        while true {
            switch outcome {
            case .result(let result):
                return try result.get()
            case .lead:
                await self.runBatch()
                outcome = await slot.wait()
            }
        }
    }

    private func runBatch() async {
        let batch: [Entry] = self.state.withLockedValue { state in
            let count = min(self.maxBatch, state.queue.count)
            let taken = Array(state.queue.prefix(count))
            state.queue.removeFirst(count)
            return taken
        }
        let results: [Result<Response, any Error>]
        do {
            let committed = try await self.commit(batch.map(\.request))
            results =
                committed.count == batch.count
                ? committed : Array(repeating: .failure(MismatchedResults()), count: batch.count)
        } catch {
            results = Array(repeating: .failure(error), count: batch.count)
        }
        let next: Slot? = self.state.withLockedValue { state in
            if let first = state.queue.first { return first.slot }
            state.leading = false
            return nil
        }
        for (entry, result) in zip(batch, results) {
            entry.slot.deliver(.result(result))
        }
        next?.deliver(.lead)
    }
}
