import NIOCore

/// The rest of a replay that did not fit in one read: loaded once the pages before it went
/// to the socket, so a session's replay never holds more than one read's worth in memory.
public struct ReplayContinuation: Sendable {
    private let load: @Sendable (any EventLoop) -> EventLoopFuture<ReplayPlan>

    public init(_ load: @escaping @Sendable (any EventLoop) -> EventLoopFuture<ReplayPlan>) {
        self.load = load
    }

    /// Reads the next part of the replay (its ``ReplayPlan/pushes``, and ``ReplayPlan/more``
    /// if there is still more); its epoch and `recovered` are those of the first part.
    public func next(on eventLoop: any EventLoop) -> EventLoopFuture<ReplayPlan> {
        self.load(eventLoop)
    }
}
