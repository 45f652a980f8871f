import HeraldRESP
import NIOCore

/// A command for a Redis Cluster, with the slot that decides which node it goes to.
public struct RedisClusterCommand: Hashable, Sendable {
    /// The command.
    public var command: RESPCommand
    /// The slot of the command's keys, or `nil` for a command without keys, which any primary may take.
    public var slot: Int?

    /// A command routed by the slot the caller gives.
    public init(_ command: RESPCommand, slot: Int?) {
        self.command = command
        self.slot = slot
    }

    /// A command routed by the slot of one of its arguments: `keyAt` is the key's position in
    /// `command.arguments`, where the command's name is 0 (`1` for `GET key`). A position
    /// past the arguments makes a command without keys.
    public init(_ command: RESPCommand, keyAt index: Int) {
        self.command = command
        guard command.arguments.indices.contains(index) else {
            self.slot = nil
            return
        }
        switch command.arguments[index] {
        case .string(let text): self.slot = RedisClusterKeySlot.slot(forKey: text)
        case .bytes(let bytes): self.slot = RedisClusterKeySlot.slot(forKey: bytes.readableBytesView)
        case .integer(let value): self.slot = RedisClusterKeySlot.slot(forKey: String(value))
        }
    }
}
