import HeraldWire
import NIOCore

/// The events of a ``HeraldClient``, in order: one consumer only.
///
/// In ``HeraldClientConfiguration/Acknowledgement/automatic`` mode, receiving a QoS 1 push
/// from this sequence acknowledges it (cumulatively). When the consumer falls
/// ``HeraldClientConfiguration/eventBufferSize`` events behind, the client stops reading from
/// the connection until it catches up, so nothing is dropped and memory stays bounded.
public struct HeraldClientEvents: AsyncSequence, Sendable {
    public typealias Element = HeraldClientEvent

    let base: ClientDriver.Events
    /// Called with the sequence of each QoS 1 push handed to the consumer, in automatic mode.
    let acknowledge: (@Sendable (UInt32) -> Void)?

    /// Iterates the events.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: ClientDriver.Events.AsyncIterator
        let acknowledge: (@Sendable (UInt32) -> Void)?

        /// The next event, or `nil` once the client has finished.
        public mutating func next() async -> HeraldClientEvent? {
            let event = await self.base.next()
            if case .push(let push) = event, push.ackRequired, push.kind == .user, let acknowledge = self.acknowledge {
                acknowledge(push.seq)
            }
            return event
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: self.base.makeAsyncIterator(), acknowledge: self.acknowledge)
    }
}
