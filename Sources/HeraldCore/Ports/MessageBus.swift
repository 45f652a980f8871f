/// The cluster's message bus: what one node hands to another (user messages for the
/// sessions a node holds, broadcasts, topic messages, kicks, replacements, app changes).
///
/// Delivery is at most once and in order per (sender, target): QoS 1 stays correct because
/// a message is stored before it is published, and a node that missed it replays from the
/// store when its clients reconnect.
public protocol MessageBus: Sendable {
    /// Sends `message` to one node (`.node`) or to every node but the sender (`.all`).
    func publish(_ message: BusMessage, to target: BusTarget) async throws
    /// Sends each message to its target, keeping the order of those with the same target,
    /// in one round trip where the bus can: one request's shares for several nodes. Throws
    /// the first failure after trying them all.
    func publish(_ messages: [BusPublication]) async throws
    /// The messages for `node` and for every node, in the order each sender published them,
    /// until the task is cancelled. After a lost connection the bus resubscribes by itself;
    /// messages published meanwhile are lost, which ``BusEvent/resubscribed`` says.
    func subscribe(node: String) -> AsyncStream<BusEvent>
}

extension MessageBus {
    /// One message after another.
    public func publish(_ messages: [BusPublication]) async throws {
        var failure: (any Error)?
        for publication in messages {
            do {
                try await self.publish(publication.message, to: publication.target)
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
    }
}

/// Where a bus message goes.
public enum BusTarget: Sendable, Hashable, CustomStringConvertible {
    case node(String)
    case all

    /// As logs name it: "node a", "every node".
    public var description: String {
        switch self {
        case .node(let node): "node \(node)"
        case .all: "every node"
        }
    }
}

/// What a subscription yields.
public enum BusEvent: Sendable {
    case message(BusMessage)
    /// The subscription was lost and is back: messages may have been missed (the node
    /// reloads its apps and restores its sessions).
    case resubscribed
}
