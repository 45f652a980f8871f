#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One online session, as the session directory knows it.
public struct SessionInfo: Sendable, Hashable {
    public var app: String
    public var user: String
    public var device: String
    /// Which node, connection and session it is.
    public var id: SessionID
    /// When it opened, by the node's clock (kept to the millisecond in a shared directory).
    public var since: Date
    /// Its place in the cluster-wide order of registrations (the directory's), 0 before it
    /// was registered; on one node, the gateway's generation.
    public var order: UInt64

    public init(app: String, user: String, device: String, id: SessionID, since: Date, order: UInt64 = 0) {
        self.app = app
        self.user = user
        self.device = device
        self.id = id
        self.since = since
        self.order = order
    }

    /// The node that holds the connection.
    public var node: String { self.id.node }

    /// The same session: by identity and the ids' bytes (``ByteString``); `since` and
    /// `order` are facts about it, not part of it.
    public static func == (lhs: SessionInfo, rhs: SessionInfo) -> Bool {
        lhs.id == rhs.id && ByteString.same(lhs.app, rhs.app) && ByteString.same(lhs.user, rhs.user)
            && ByteString.same(lhs.device, rhs.device)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.id)
        hasher.combine(ByteString(self.app))
        hasher.combine(ByteString(self.user))
        hasher.combine(ByteString(self.device))
    }
}
