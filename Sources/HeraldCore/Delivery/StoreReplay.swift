import HeraldWire
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Recovery from the ``MessageStore`` (docs/protocol.md, "Delivery"):
/// a new session is replayed every unexpired inbox message above
/// `max(device's cursor, resume.inbox)` and, when it resumes broadcasts, the kept
/// broadcasts above `resume.broadcast`; `recovered` says truthfully whether anything the
/// device had not acknowledged is gone.
///
/// A `resume` from another epoch is ignored (the device's cursor still applies) and both
/// `recovered` flags are false. A `resume` without an epoch is taken as the current one.
///
/// The inbox is read `page` at a time (``InboxPage``): the first read comes with AUTH_OK, and
/// each next one once the one before went to the socket (``ReplayPlan/more``), so a session
/// with a large inbox costs one page of memory, not its whole inbox.
public struct StoreReplay: ReplayProvider {
    private let store: any MessageStore
    private let acknowledgements: AcknowledgementWriter?
    private let page: InboxPage

    /// - Parameters:
    ///   - acknowledgements: the write-behind buffer, whose unwritten cursors count too.
    ///   - page: how much of an inbox one read takes.
    public init(store: any MessageStore, acknowledgements: AcknowledgementWriter?, page: InboxPage = .replay) {
        self.store = store
        self.acknowledgements = acknowledgements
        self.page = page
    }

    public func replay(for token: VerifiedToken, resume: AuthRequest.Resume?, on eventLoop: any EventLoop)
        -> EventLoopFuture<ReplayPlan>
    {
        // Nothing stored for the user and no broadcasts asked for: the plan is known without
        // a read (or a task to read in), which is how most sessions open.
        let asked = Self.resume(resume, app: token.app)
        if asked.broadcast == 0, !self.store.mayHaveInbox(app: token.app.id, user: token.user) {
            let sameEpoch = asked.sameEpoch
            return eventLoop.makeSucceededFuture(
                ReplayPlan(
                    epoch: token.app.epoch,
                    recovered: AuthOK.Recovered(inbox: sameEpoch, broadcast: sameEpoch),
                    pushes: []
                )
            )
        }
        let promise = eventLoop.makePromise(of: ReplayPlan.self)
        promise.completeWithTask {
            try await self.plan(for: token, resume: resume, now: Date())
        }
        return promise.futureResult
    }

    /// The plan for a session opening at `now`.
    public func plan(for token: VerifiedToken, resume: AuthRequest.Resume?, now: Date) async throws -> ReplayPlan {
        let app = token.app
        let (sameEpoch, resumeInbox, resumeBroadcast) = Self.resume(resume, app: app)

        let inbox = try await self.store.inbox(
            app: app.id,
            user: token.user,
            device: token.device,
            after: resumeInbox,
            now: now,
            page: self.page
        )
        let unwritten = self.acknowledgements?.pendingCursor(app: app.id, user: token.user, device: token.device) ?? 0
        let inboxStart = max(inbox.cursor, resumeInbox, unwritten)
        var pushes: [ReplayPlan.Push] = []
        for message in inbox.messages where message.seq > inboxStart {
            pushes.append(ReplayPlan.Push(seq: message.seq, kind: .user, ackRequired: true, payload: message.payload))
        }
        let inboxRecovered = sameEpoch && inbox.lostThrough <= inboxStart

        var broadcastRecovered = sameEpoch
        if resumeBroadcast > 0 {
            let log = try await self.store.broadcasts(app: app.id, after: resumeBroadcast, now: now)
            broadcastRecovered = sameEpoch && log.trimmedThrough <= resumeBroadcast
            for message in log.messages where message.seq > resumeBroadcast {
                pushes.append(ReplayPlan.Push(seq: message.seq, kind: .broadcast, ackRequired: false, payload: message.payload))
            }
        }
        return ReplayPlan(
            epoch: app.epoch,
            recovered: AuthOK.Recovered(inbox: inboxRecovered, broadcast: broadcastRecovered),
            pushes: pushes,
            more: self.continuation(after: inbox, from: inboxStart, token: token, epoch: app.epoch)
        )
    }

    /// The read after `read`, if it stopped at its page's bound.
    private func continuation(after read: InboxReplay, from start: UInt32, token: VerifiedToken, epoch: String)
        -> ReplayContinuation?
    {
        guard !read.isComplete else { return nil }
        let after = max(read.messages.last?.seq ?? start, start)
        return ReplayContinuation { eventLoop in
            let promise = eventLoop.makePromise(of: ReplayPlan.self)
            promise.completeWithTask {
                try await self.nextPage(for: token, after: after, epoch: epoch, now: Date())
            }
            return promise.futureResult
        }
    }

    /// The inbox page above `after`, and what follows it.
    private func nextPage(for token: VerifiedToken, after: UInt32, epoch: String, now: Date) async throws -> ReplayPlan {
        let inbox = try await self.store.inbox(
            app: token.app.id, user: token.user, device: token.device, after: after, now: now, page: self.page)
        // The store answers only messages above `after` (and the device's cursor).
        let pushes = inbox.messages.map {
            ReplayPlan.Push(seq: $0.seq, kind: .user, ackRequired: true, payload: $0.payload)
        }
        return ReplayPlan(
            epoch: epoch,
            recovered: AuthOK.Recovered(inbox: true, broadcast: true),
            pushes: pushes,
            more: pushes.isEmpty ? nil : self.continuation(after: inbox, from: after, token: token, epoch: epoch)
        )
    }

    /// What `resume` asks for: nothing from another epoch.
    private static func resume(
        _ resume: AuthRequest.Resume?,
        app: App
    ) -> (sameEpoch: Bool, inbox: UInt32, broadcast: UInt32) {
        let sameEpoch = resume?.epoch.map { $0 == app.epoch } ?? true
        return (sameEpoch, sameEpoch ? resume?.inbox ?? 0 : 0, sameEpoch ? resume?.broadcast ?? 0 : 0)
    }
}
