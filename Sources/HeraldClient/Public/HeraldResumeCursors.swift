/// Where the client's streams stand: sent in AUTH's `resume` so the server replays only what was missed.
///
/// The client keeps them up to date as pushes arrive; an app that wants to survive a restart
/// reads them from ``HeraldClient/cursors()`` and passes them back in
/// ``HeraldClientConfiguration/resume``.
public struct HeraldResumeCursors: Sendable, Hashable, Codable {
    /// The app's epoch the sequences belong to; `nil` before the first AUTH_OK.
    public var epoch: String?
    /// The highest inbox (QoS 1 user message) sequence received.
    public var inbox: UInt32
    /// The highest broadcast sequence received.
    public var broadcast: UInt32

    /// Creates cursors.
    public init(epoch: String? = nil, inbox: UInt32 = 0, broadcast: UInt32 = 0) {
        self.epoch = epoch
        self.inbox = inbox
        self.broadcast = broadcast
    }
}
