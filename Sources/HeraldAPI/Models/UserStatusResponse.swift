#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The answer to `GET /v1/apps/{app}/users/{user}`.
struct UserStatusResponse: Encodable, Sendable {
    struct Session: Encodable, Sendable {
        var device: String
        var node: String
        var since: Date
    }

    var online: Bool
    var sessions: [Session]
    /// The user's newest inbox sequence; 0 if they were never sent a QoS 1 message.
    var inboxSeq: UInt32
}

/// The answer to `DELETE /v1/apps/{app}/users/{user}/sessions`.
struct KickResponse: Encodable, Sendable {
    var kicked: Int
}
