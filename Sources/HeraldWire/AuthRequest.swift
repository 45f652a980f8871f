/// The body of AUTH: a token, and optionally where the client's stream cursors stand.
public struct AuthRequest: Codable, Sendable, Hashable {
    /// Cursors a reconnecting client sends so that the server replays only what it missed.
    public struct Resume: Codable, Sendable, Hashable {
        public var epoch: String?
        public var inbox: UInt32?
        public var broadcast: UInt32?

        public init(epoch: String? = nil, inbox: UInt32? = nil, broadcast: UInt32? = nil) {
            self.epoch = epoch
            self.inbox = inbox
            self.broadcast = broadcast
        }
    }

    public var token: String
    public var resume: Resume?

    public init(token: String, resume: Resume? = nil) {
        self.token = token
        self.resume = resume
    }
}
