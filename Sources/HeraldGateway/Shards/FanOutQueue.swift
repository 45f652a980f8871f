import HeraldCore
import HeraldWire
import NIOCore

/// Broadcasts and topic messages that reached a shard since its last fan-out pass began,
/// grouped by the sessions they go to.
///
/// A fan-out message is not written to each connection when it arrives: the shard's next
/// pass (``FanOutPass``) writes everything queued for one target to each of its connections
/// at once. Under load, when messages arrive faster than a pass can write 10,000 sockets,
/// every connection then costs one write and one system call per pass, however many messages
/// the pass carries (a loopback write costs 11 to 15 µs of kernel time here;
/// docs/performance.md).
struct FanOutQueue {
    /// Whom a group of queued messages goes to.
    enum Target: Hashable {
        /// Every session of the app (broadcasts).
        case app(ByteString)
        /// The sessions of the app subscribed to the topic.
        case topic(app: ByteString, topic: ByteString)
    }

    /// One queued message.
    struct Push {
        var seq: UInt32
        var kind: PushKind
        var topic: String
        var payload: ByteBuffer
    }

    private var order: [Target] = []
    private var pushes: [Target: [Push]] = [:]

    var isEmpty: Bool { self.order.isEmpty }

    /// Messages queued, over every target.
    private(set) var count = 0

    mutating func append(_ push: Push, for target: Target) {
        self.count += 1
        if self.pushes[target] == nil {
            self.order.append(target)
            self.pushes[target] = [push]
        } else {
            self.pushes[target]?.append(push)
        }
    }

    /// Everything queued, target by target in the order each first got a message; broadcasts
    /// sorted by sequence, since concurrent API calls may reach the shard out of order and
    /// the protocol delivers each kind in sequence order. Leaves the queue empty.
    mutating func take() -> [(target: Target, pushes: [Push])] {
        defer {
            self.count = 0
            self.order.removeAll(keepingCapacity: true)
            self.pushes.removeAll(keepingCapacity: true)
        }
        return self.order.map { target in
            var pushes = self.pushes[target] ?? []
            if case .app = target, pushes.count > 1 {
                // Stable, so that equal sequences (none expected) keep their arrival order.
                pushes = pushes.enumerated().sorted { ($0.element.seq, $0.offset) < ($1.element.seq, $1.offset) }
                    .map(\.element)
            }
            return (target, pushes)
        }
    }
}
