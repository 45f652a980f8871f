import HeraldWire

/// What a ``HeraldClient`` reports through ``HeraldClient/events``.
public enum HeraldClientEvent: Sendable, Hashable {
    /// A connection is authenticated (after every reconnect too). Pushes replayed by the
    /// server follow this event.
    case connected(HeraldSession)
    /// A message arrived.
    case push(HeraldPush)
    /// The server announced the end of the session or connection; a ``disconnected(_:)`` follows.
    case goaway(GoAway)
    /// The connection ended; ``HeraldDisconnect/reconnectAfter`` says whether and when the client retries.
    case disconnected(HeraldDisconnect)
    /// Re-subscribing after a reconnect failed for these topics (for example `forbidden_topic`
    /// after the token's topic permissions changed); they are no longer subscribed.
    case subscriptionFailed(topics: [String], ErrorBody)
}
