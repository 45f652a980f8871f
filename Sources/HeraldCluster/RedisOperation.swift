import HeraldRESP
import HeraldRedis

/// One entry of a cluster-state pipeline: a plain command, or a script with its keys.
enum RedisOperation: Sendable {
    /// A command whose key is the argument at `keyAt` (the name is 0).
    case command(RESPCommand, keyAt: Int)
    /// A script; every key shares one slot (the first key's).
    case script(RedisScript, keys: [String], arguments: [RESPCommand.Argument])

    /// The command to send: `EVALSHA` for a script the server has `loaded`, else `EVAL`.
    func command(loaded: Bool) -> RedisClusterCommand {
        switch self {
        case .command(let command, let index):
            return RedisClusterCommand(command, keyAt: index)
        case .script(let script, let keys, let arguments):
            let head: [RESPCommand.Argument] = loaded ? [.string(script.sha1)] : [.string(script.source)]
            let command = RESPCommand(
                loaded ? "EVALSHA" : "EVAL",
                arguments: head + [.integer(Int64(keys.count))] + keys.map { .string($0) } + arguments)
            return RedisClusterCommand(command, keyAt: 3)
        }
    }
}
