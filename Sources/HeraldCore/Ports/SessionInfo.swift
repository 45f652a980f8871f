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
}
