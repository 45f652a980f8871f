#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One online session, as the session directory knows it.
public struct SessionInfo: Sendable, Hashable, Codable {
    public var app: String
    public var user: String
    public var device: String
    /// The node that holds the connection.
    public var node: String
    public var since: Date

    public init(app: String, user: String, device: String, node: String, since: Date) {
        self.app = app
        self.user = user
        self.device = device
        self.node = node
        self.since = since
    }

    /// By bytes for the ids, as every index of them (``ByteString``).
    public static func == (lhs: SessionInfo, rhs: SessionInfo) -> Bool {
        ByteString.same(lhs.app, rhs.app) && ByteString.same(lhs.user, rhs.user)
            && ByteString.same(lhs.device, rhs.device) && ByteString.same(lhs.node, rhs.node)
            && lhs.since == rhs.since
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ByteString(self.app))
        hasher.combine(ByteString(self.user))
        hasher.combine(ByteString(self.device))
        hasher.combine(ByteString(self.node))
        hasher.combine(self.since)
    }
}
