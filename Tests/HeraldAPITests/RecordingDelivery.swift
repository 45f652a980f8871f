import HeraldCore
import NIOConcurrencyHelpers
import NIOCore

/// A ``PushDelivery`` that records every call and claims a fixed number of sessions per user.
final class RecordingDelivery: PushDelivery {
    enum Call: Equatable {
        case users(app: String, users: [String], payload: [UInt8])
        case stored(app: String, deliveries: [UserSequence], payload: [UInt8])
        case broadcast(app: String, seq: UInt32, payload: [UInt8])
        case publish(app: String, topic: String, payload: [UInt8])
        case kick(app: String, user: String, device: String?)
    }

    private let recorded = NIOLockedValueBox<[Call]>([])
    let sessionsPerTarget: Int
    /// Shared with a ``FaultyStore`` to see what happened first.
    let events: EventLog?

    init(sessionsPerTarget: Int = 2, events: EventLog? = nil) {
        self.sessionsPerTarget = sessionsPerTarget
        self.events = events
    }

    var calls: [Call] { self.recorded.withLockedValue { $0 } }

    func sendToUsers(app: String, users: [String], payload: ByteBuffer) async -> Int {
        self.recorded.withLockedValue {
            $0.append(.users(app: app, users: users, payload: Array(payload.readableBytesView)))
        }
        return users.count * self.sessionsPerTarget
    }

    func sendStored(app: String, deliveries: [UserSequence], payload: ByteBuffer) async -> Int {
        self.events?.append("delivered \(deliveries.map { "\($0.user):\($0.seq)" }.joined(separator: ","))")
        self.recorded.withLockedValue {
            $0.append(.stored(app: app, deliveries: deliveries, payload: Array(payload.readableBytesView)))
        }
        return deliveries.count * self.sessionsPerTarget
    }

    func broadcast(app: String, seq: UInt32, payload: ByteBuffer) async -> Int {
        self.recorded.withLockedValue {
            $0.append(.broadcast(app: app, seq: seq, payload: Array(payload.readableBytesView)))
        }
        return self.sessionsPerTarget
    }

    func publish(app: String, topic: String, payload: ByteBuffer) async -> Int {
        self.recorded.withLockedValue {
            $0.append(.publish(app: app, topic: topic, payload: Array(payload.readableBytesView)))
        }
        return self.sessionsPerTarget
    }

    func kick(app: String, user: String, device: String?) async -> Int {
        self.recorded.withLockedValue { $0.append(.kick(app: app, user: user, device: device)) }
        return self.sessionsPerTarget
    }
}
