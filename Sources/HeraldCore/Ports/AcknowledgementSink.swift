/// Where the gateway hands a device's cumulative ACK of QoS 1 messages. Called on event
/// loops for every ACK, so it must return at once.
public protocol AcknowledgementSink: Sendable {
    func record(_ acknowledgement: InboxAcknowledgement)
}
