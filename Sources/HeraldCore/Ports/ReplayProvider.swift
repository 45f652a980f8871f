import HeraldWire
import NIOCore

/// The step of AUTH that looks up what a reconnecting session missed.
///
/// It answers with a future on the connection's event loop so that a store lookup does
/// not block the loop; the gateway holds the session's live messages until it completes.
public protocol ReplayProvider: Sendable {
    func replay(for token: VerifiedToken, resume: AuthRequest.Resume?, on eventLoop: any EventLoop)
        -> EventLoopFuture<ReplayPlan>
}
