import HeraldCore
import HeraldWire
import NIOConcurrencyHelpers
import NIOCore

/// A ``ReplayProvider`` whose lookups stay pending until the test completes them, so that
/// tests can deliver live messages while a session's replay loads.
final class ManualReplay: ReplayProvider {
    private let pending = NIOLockedValueBox<[EventLoopPromise<ReplayPlan>]>([])

    func replay(for token: VerifiedToken, resume: AuthRequest.Resume?, on eventLoop: any EventLoop)
        -> EventLoopFuture<ReplayPlan>
    {
        let promise = eventLoop.makePromise(of: ReplayPlan.self)
        self.pending.withLockedValue { $0.append(promise) }
        return promise.futureResult
    }

    var pendingCount: Int { self.pending.withLockedValue { $0.count } }

    /// Completes the oldest pending lookup.
    func complete(with result: Result<ReplayPlan, any Error>) {
        let promise = self.pending.withLockedValue { $0.isEmpty ? nil : $0.removeFirst() }
        promise?.completeWith(result)
    }
}
