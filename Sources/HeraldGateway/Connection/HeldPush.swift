import HeraldWire
import NIOCore

/// A live PUSH for a session whose replay is loading or being written, held by the
/// ``ConnectionStateMachine`` with what it takes to drop it if the replay carried it.
struct HeldPush {
    var frame: ByteBuffer
    var kind: PushKind
    /// The inbox or broadcast sequence; 0 for QoS 0 and topic messages.
    var seq: UInt32
}
