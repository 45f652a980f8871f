import HeraldRESP
import NIOCore

/// What ``RedisConnection`` writes into its channel: commands and the promises their replies complete.
struct RedisRequest: Sendable {
    /// One command of the request.
    struct Entry: Sendable {
        var command: RESPCommand
        var kind: RedisConnectionStateMachine<EventLoopPromise<RESPToken>>.ReplyKind
        var promise: EventLoopPromise<RESPToken>
    }

    var entries: [Entry]

    /// Fails every promise (those already completed are left as they are).
    func fail(_ error: RedisClientError) {
        for entry in self.entries {
            entry.promise.fail(error)
        }
    }
}
