import HeraldCore
import HeraldWire
import NIOCore

// What the handler does after each kind of event: one type per event, so that each answer
// lists only what can follow it.
extension ConnectionStateMachine {
    /// What the handler does after a received message.
    enum Action: Sendable {
        case none
        /// Verify the token, load the replay plan, then report back.
        case authenticate(seq: UInt32, AuthRequest)
        case sendPong(seq: UInt32)
        /// A device acknowledged its QoS 1 messages up to `seq`: hand it to the cursor writer.
        case acknowledge(InboxAcknowledgement)
        /// Write ERROR; when `closeConnection`, flush it and close.
        case sendError(seq: UInt32, ProtocolError, closeConnection: Bool)
        /// Index the newly added topics of the session, then write OK.
        case subscribed(seq: UInt32, session: UInt16, app: String, added: [ByteString])
        /// Remove the topics from the index, then write OK.
        case unsubscribed(seq: UInt32, session: UInt16, app: String, removed: [ByteString])
    }

    /// What the handler does when an AUTH's token verified.
    enum OpeningAction: Sendable {
        /// Index the session for fan-out and load its replay plan; the machine holds its live
        /// messages meanwhile.
        case loadReplay(Session)
        /// The event could not happen (a bug): close the connection.
        case closeConnection
    }

    /// What the handler does when an AUTH completed.
    enum AuthCompletionAction: Sendable {
        /// Nothing: the connection is closing or closed, and the AUTH's answer is not wanted.
        case none
        /// Write AUTH_OK and (if any) GOAWAY `replaced` for the session of the same device that
        /// this one replaces on this connection (and unindex that one), then carry out `replay`:
        /// its first page, or the held live messages when there is nothing to replay.
        case sessionOpened(seq: UInt32, Session, AuthOK, replay: ReplayAction, replaced: Session?)
        /// The session was ended (kicked, replaced elsewhere) while its replay loaded: write
        /// AUTH_OK and the GOAWAY at once, closing after it when `closeConnection`.
        case sessionOpenedAndEnded(seq: UInt32, AuthOK, GoAway, closeConnection: Bool)
        /// Write ERROR; unindex `abandoned`, the opening session, if any.
        case sendError(seq: UInt32, ProtocolError, closeConnection: Bool, abandoned: Session?)
        /// The event could not happen (a bug): close the connection.
        case closeConnection
    }

    /// What the handler does to write a replay, and what follows it.
    enum ReplayAction: Sendable {
        /// Nothing (more): the replay ended with its session, or the connection is closing.
        case none
        /// Write these pushes (never none) to `session` and flush; call
        /// ``replayPageWritten(session:)`` once the last of them is out.
        case writePage(session: UInt16, ArraySlice<ReplayPlan.Push>)
        /// Write the replay's last page (never empty) to `session`, then call
        /// ``replayWritten(session:)`` at once.
        case writeLastPage(session: UInt16, ArraySlice<ReplayPlan.Push>)
        /// Write the live messages held while the session opened and replayed, less those its
        /// replay carried (perhaps none), then take the queued messages.
        case writeHeld([ByteBuffer])
        /// Everything read so far is written: read the next part of the replay, then call
        /// ``replayContinued(session:plan:)`` (or ``replayContinuationFailed(session:)``).
        case loadMore(session: UInt16, ReplayContinuation)
        /// The replay cannot go on: write ERROR and close the connection.
        case fail(ProtocolError)
    }

    /// What the handler does with live messages from its shard for one session.
    enum PushAction: Sendable, Equatable {
        /// Write them as they came (a batch in one write).
        case write
        /// Write only these frames: the others are broadcasts the session already has.
        case writeFrames([ByteBuffer])
        /// Kept by the machine until the session's replay is written.
        case held
        /// Not written: the session is not open here, or it already has every one of them.
        case drop
        /// Too many held while a replay loads or is written: close the connection as a slow
        /// consumer, a reader that cannot keep up.
        case closeSlowConsumer
    }

    /// What the handler does when the server ends a session (kick, replaced elsewhere).
    enum SessionEndAction: Sendable {
        /// Nothing: the session is not open here (it ended already, or the connection is closing).
        case none
        /// Write the GOAWAY, unindex the session, and close after it when `closeConnection`.
        case sessionEnded(Session, GoAway, closeConnection: Bool)
        /// The session was still opening: unindex it (its held messages are dropped); the
        /// GOAWAY follows its AUTH_OK when the replay is loaded.
        case openingEnded(Session)
    }

    /// What the handler does when the node drains.
    enum DrainAction: Sendable {
        /// Nothing: the connection is closing already.
        case none
        /// Write GOAWAY session 0, unindex the sessions, close.
        case goAway(GoAway, endedSessions: [Session])
    }

    /// A deadline of the connection, armed on its shard's timing wheel.
    enum Deadline: Sendable, Hashable {
        /// The first AUTH_OK is due.
        case auth
        /// An authenticated connection must have sent something.
        case idle
        /// The connection's last frame must be out.
        case closeGrace
    }

    /// What the handler does about time.
    enum TimerAction: Sendable, Hashable {
        /// Have the wheel call ``deadlineReached(now:)`` at `tick` (or soon after).
        case armDeadline(Deadline, at: UInt64)
        /// Write ERROR seq 0 with this error, flush it, and close.
        case sendErrorAndClose(ProtocolError)
        /// Close at once, without a frame: `deadline` passed.
        case close(Deadline)
    }
}
