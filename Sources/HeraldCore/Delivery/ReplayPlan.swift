import HeraldWire
import NIOCore

/// What a new session is told in AUTH_OK about recovery, and what it must be sent before
/// any live message.
public struct ReplayPlan: Sendable {
    /// One stored message to replay.
    public struct Push: Sendable {
        public var seq: UInt32
        public var kind: PushKind
        public var ackRequired: Bool
        public var payload: ByteBuffer

        public init(seq: UInt32, kind: PushKind, ackRequired: Bool, payload: ByteBuffer) {
            self.seq = seq
            self.kind = kind
            self.ackRequired = ackRequired
            self.payload = payload
        }
    }

    public var epoch: String
    public var recovered: AuthOK.Recovered
    /// In the order they must be written.
    public var pushes: [Push]
    /// What follows `pushes` when the store had more than one read's worth.
    public var more: ReplayContinuation?

    public init(epoch: String, recovered: AuthOK.Recovered, pushes: [Push] = [], more: ReplayContinuation? = nil) {
        self.epoch = epoch
        self.recovered = recovered
        self.pushes = pushes
        self.more = more
    }
}
