import HeraldCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How a session is written in Redis: a device field of the user's hash whose value starts
/// with the session's identity (which the scripts compare), and a member of its node's set
/// that names the user's hash and the field.
enum RedisSessionRecord {
    /// The hash field of a device; the prefix keeps devices apart from the order counter.
    static func field(device: String) -> String {
        "d:" + device
    }

    /// The device a hash field names, or nil for the counter.
    static func device(field: String) -> String? {
        field.hasPrefix("d:") ? String(field.dropFirst(2)) : nil
    }

    /// The hash field that holds the user's order counter.
    static let counterField = "#"

    /// The identity the scripts compare: node (base64url), connection, number and generation.
    static func token(_ id: SessionID) -> String {
        "\(RedisClusterKeys.encode(id.node)):\(id.connection):\(id.number):\(id.generation)"
    }

    static func id(token: Substring) -> SessionID? {
        let parts = token.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, let node = RedisClusterKeys.decode(parts[0]), let connection = UInt64(parts[1]),
            let number = UInt16(parts[2]), let generation = UInt64(parts[3])
        else { return nil }
        return SessionID(node: node, connection: connection, number: number, generation: generation)
    }

    /// The value the register script writes, before it appends ` <order>`.
    static func valuePrefix(_ session: SessionInfo) -> String {
        "\(Self.token(session.id)) \(session.since.millisecondsSince1970)"
    }

    /// The session a device field's value describes.
    static func session(value: String, app: String, user: String, device: String) -> SessionInfo? {
        let parts = value.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, let id = Self.id(token: parts[0]), let since = Int64(parts[1]), let order = UInt64(parts[2]) else {
            return nil
        }
        return SessionInfo(app: app, user: user, device: device, id: id, since: Date(millisecondsSince1970: since), order: order)
    }

    /// The member of the node's set: app, user, device and identity.
    static func member(_ session: SessionInfo) -> String {
        [
            RedisClusterKeys.encode(session.app), RedisClusterKeys.encode(session.user),
            RedisClusterKeys.encode(session.device), Self.token(session.id),
        ].joined(separator: ".")
    }

    /// The session a member names (without its start and order, which the set does not keep).
    static func session(member: String) -> SessionInfo? {
        let parts = member.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, let app = RedisClusterKeys.decode(parts[0]), let user = RedisClusterKeys.decode(parts[1]),
            let device = RedisClusterKeys.decode(parts[2]), let id = Self.id(token: parts[3])
        else { return nil }
        return SessionInfo(app: app, user: user, device: device, id: id, since: Date(millisecondsSince1970: 0))
    }
}
