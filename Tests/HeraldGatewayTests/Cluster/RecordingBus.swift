import HeraldCore
import HeraldTesting
import NIOConcurrencyHelpers

/// A bus that remembers what was published, then hands it on.
final class RecordingBus: MessageBus {
    private let bus = InMemoryMessageBus()
    private let published = NIOLockedValueBox<[(BusMessage, BusTarget)]>([])
    private let subscriptions = NIOLockedValueBox(0)
    private let batchTargets = NIOLockedValueBox<[[BusTarget]]>([])

    func publish(_ message: BusMessage, to target: BusTarget) async throws {
        self.published.withLockedValue { $0.append((message, target)) }
        try await self.bus.publish(message, to: target)
    }

    func publish(_ messages: [BusPublication]) async throws {
        self.batchTargets.withLockedValue { $0.append(messages.map(\.target)) }
        for publication in messages { try await self.publish(publication.message, to: publication.target) }
    }

    func subscribe(node: String) -> AsyncStream<BusEvent> {
        let stream = self.bus.subscribe(node: node)
        self.subscriptions.withLockedValue { $0 += 1 }
        return stream
    }

    /// How many subscriptions were made: a message published before a node subscribed
    /// does not reach it.
    var subscriptionCount: Int {
        self.subscriptions.withLockedValue { $0 }
    }

    func simulateResubscribe() {
        self.bus.simulateResubscribe()
    }

    /// What was published so far, with its target.
    var messages: [(BusMessage, BusTarget)] {
        self.published.withLockedValue { $0 }
    }

    /// The targets of each call that published several messages at once, in order.
    var batches: [[BusTarget]] {
        self.batchTargets.withLockedValue { $0 }
    }

    func forget() {
        self.published.withLockedValue { $0 = [] }
        self.batchTargets.withLockedValue { $0 = [] }
    }
}
