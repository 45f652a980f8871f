import HeraldCore
import NIOConcurrencyHelpers

/// A ``MessageBus`` in one process: every node of a test subscribes to the same object.
/// `.node` reaches each subscription of that node, `.all` every node's but the sender's, in
/// publish order; nothing is lost, so it never yields ``BusEvent/resubscribed`` unless a
/// test calls ``simulateResubscribe()``.
public final class InMemoryMessageBus: MessageBus {
    private struct Subscription {
        var node: ByteString
        var continuation: AsyncStream<BusEvent>.Continuation
    }

    private struct State {
        var next = 0
        var subscriptions: [Int: Subscription] = [:]
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func publish(_ message: BusMessage, to target: BusTarget) async throws {
        // Yielding under the lock keeps the order of concurrent publishers the same for every
        // subscriber; yield only buffers, so it never waits.
        self.state.withLockedValue { state in
            for subscription in state.subscriptions.values where Self.reaches(target, subscription.node, message.origin) {
                subscription.continuation.yield(.message(message))
            }
        }
    }

    public func subscribe(node: String) -> AsyncStream<BusEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: BusEvent.self)
        let id = self.state.withLockedValue { state in
            let id = state.next
            state.next += 1
            state.subscriptions[id] = Subscription(node: ByteString(node), continuation: continuation)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.subscriptions.removeValue(forKey: id) }
        }
        return stream
    }

    /// Tells every subscription that it was lost and is back, as a bus does after a reconnect.
    public func simulateResubscribe() {
        self.state.withLockedValue { state in
            for subscription in state.subscriptions.values { subscription.continuation.yield(.resubscribed) }
        }
    }

    private static func reaches(_ target: BusTarget, _ node: ByteString, _ origin: String) -> Bool {
        switch target {
        case .node(let target): ByteString(target) == node
        case .all: node != ByteString(origin)
        }
    }
}
