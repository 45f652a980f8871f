import NIOCore

/// Which of several servers a reconnecting subscriber tries next, and how long it waits
/// before it does: after a failure it moves straight on to the next server, and only once
/// every server has failed in a row does it wait, by the backoff, before the next round.
///
/// A value with no sockets, so that the order and the waits are tested on their own.
struct RedisEndpointRotation<Endpoint: Sendable>: Sendable {
    /// The servers, in the order they are tried; never empty.
    let endpoints: [Endpoint]
    private let backoff: RedisBackoff
    private var index = 0
    private var failuresInRound = 0
    private var rounds = 0

    /// A rotation over `endpoints` (at least one) that starts at the first.
    init(_ endpoints: [Endpoint], backoff: RedisBackoff) {
        precondition(!endpoints.isEmpty, "a rotation needs at least one endpoint")
        self.endpoints = endpoints
        self.backoff = backoff
    }

    /// The server to try now.
    var current: Endpoint { self.endpoints[self.index] }

    /// The current server was reached: it stays current, and the backoff starts again.
    mutating func succeeded() {
        self.failuresInRound = 0
        self.rounds = 0
    }

    /// The current server could not be reached: the next one becomes current. Returns how long
    /// to wait before trying it: nothing while the round has servers left, the backoff after
    /// the last one (growing with each round that fails whole).
    mutating func failed() -> TimeAmount {
        self.index = (self.index + 1) % self.endpoints.count
        self.failuresInRound += 1
        guard self.failuresInRound >= self.endpoints.count else { return .zero }
        self.failuresInRound = 0
        defer { self.rounds += 1 }
        return self.backoff.delay(afterAttempt: self.rounds)
    }
}
