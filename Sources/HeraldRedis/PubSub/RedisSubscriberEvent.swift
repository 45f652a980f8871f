/// What a ``RedisSubscriber`` reports, in order.
public enum RedisSubscriberEvent: Hashable, Sendable {
    /// A message on a channel, pattern or shard channel the subscriber listens to.
    case message(RedisPubSubMessage)
    /// The connection was lost; the subscriber is reconnecting. Messages published from now
    /// until ``reconnected`` are not delivered.
    case disconnected(RedisClientError)
    /// The subscriber connected again and subscribed again to everything it had. Messages
    /// published while it was away were missed: a caller that must not lose any catches up
    /// from its own store. A message may arrive just before this event.
    case reconnected
}
