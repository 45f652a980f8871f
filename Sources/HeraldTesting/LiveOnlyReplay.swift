import HeraldCore
import HeraldWire
import NIOConcurrencyHelpers
import NIOCore

/// Recovery for a node that keeps no message history (QoS 0 only): it replays nothing
/// and says truthfully whether the client missed anything.
///
/// A client that resumes from the app's current epoch at the app's newest broadcast
/// sequence has missed nothing; one below it has missed broadcasts that are not kept.
public final class LiveOnlyReplay: ReplayProvider {
    private let broadcastSequences = NIOLockedValueBox<[ByteString: UInt32]>([:])

    public init() {}

    /// Records the newest broadcast sequence of an app (after a broadcast, and at start).
    public func noteBroadcast(app: String, seq: UInt32) {
        self.broadcastSequences.withLockedValue { sequences in
            let app = ByteString(app)
            sequences[app] = max(sequences[app] ?? 0, seq)
        }
    }

    public func replay(for token: VerifiedToken, resume: AuthRequest.Resume?, on eventLoop: any EventLoop)
        -> EventLoopFuture<ReplayPlan>
    {
        let epoch = token.app.epoch
        guard let resume else {
            return eventLoop.makeSucceededFuture(
                ReplayPlan(epoch: epoch, recovered: AuthOK.Recovered(inbox: true, broadcast: true))
            )
        }
        if let claimed = resume.epoch, claimed != epoch {
            return eventLoop.makeSucceededFuture(
                ReplayPlan(epoch: epoch, recovered: AuthOK.Recovered(inbox: false, broadcast: false))
            )
        }
        let newest = self.broadcastSequences.withLockedValue { $0[ByteString(token.app.id)] ?? 0 }
        let resumedAt = resume.broadcast ?? 0
        let missedBroadcasts = resumedAt > 0 && resumedAt < newest
        return eventLoop.makeSucceededFuture(
            ReplayPlan(epoch: epoch, recovered: AuthOK.Recovered(inbox: true, broadcast: !missedBroadcasts))
        )
    }
}
