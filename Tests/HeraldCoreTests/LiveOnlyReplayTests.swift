import Foundation
import HeraldCore
import HeraldTesting
import HeraldWire
import NIOCore
import NIOEmbedded
import Testing

@Suite struct LiveOnlyReplayTests {
    static let token = VerifiedToken(
        app: App(id: "demo", secret: "s", epoch: "epoch-1", createdAt: Date(timeIntervalSince1970: 0)),
        claims: TokenClaims(app: "demo", sub: "alice", exp: 4_102_444_800)
    )

    static func recovered(_ replay: LiveOnlyReplay, _ resume: AuthRequest.Resume?, token: VerifiedToken = Self.token)
        throws -> AuthOK.Recovered
    {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        let plan = try replay.replay(for: token, resume: resume, on: loop).wait()
        #expect(plan.epoch == token.app.epoch)
        #expect(plan.pushes.isEmpty)
        return plan.recovered
    }

    @Test func noResume() throws {
        let replay = LiveOnlyReplay()
        replay.noteBroadcast(app: "demo", seq: 10)
        #expect(try Self.recovered(replay, nil) == .init(inbox: true, broadcast: true))
    }

    @Test func foreignEpoch() throws {
        let replay = LiveOnlyReplay()
        #expect(try Self.recovered(replay, .init(epoch: "epoch-0")) == .init(inbox: false, broadcast: false))
        #expect(
            try Self.recovered(replay, .init(epoch: "", inbox: 0, broadcast: 0))
                == .init(inbox: false, broadcast: false))
        replay.noteBroadcast(app: "demo", seq: 3)
        #expect(
            try Self.recovered(replay, .init(epoch: "other", inbox: 5, broadcast: 3))
                == .init(inbox: false, broadcast: false))
    }

    @Test func broadcastCursor() throws {
        let replay = LiveOnlyReplay()
        // Nothing noted yet: any cursor is up to date.
        #expect(
            try Self.recovered(replay, .init(epoch: "epoch-1", broadcast: 5)) == .init(inbox: true, broadcast: true))

        replay.noteBroadcast(app: "demo", seq: 10)
        #expect(
            try Self.recovered(replay, .init(epoch: "epoch-1", broadcast: 9)) == .init(inbox: true, broadcast: false))
        #expect(
            try Self.recovered(replay, .init(epoch: "epoch-1", broadcast: 1)) == .init(inbox: true, broadcast: false))
        #expect(
            try Self.recovered(replay, .init(epoch: "epoch-1", broadcast: 10)) == .init(inbox: true, broadcast: true))
        #expect(
            try Self.recovered(replay, .init(epoch: "epoch-1", broadcast: 11)) == .init(inbox: true, broadcast: true))
        // 0 (or absent) means the client has no broadcast cursor.
        #expect(
            try Self.recovered(replay, .init(epoch: "epoch-1", broadcast: 0)) == .init(inbox: true, broadcast: true))
        #expect(try Self.recovered(replay, .init(epoch: "epoch-1", inbox: 7)) == .init(inbox: true, broadcast: true))
        // Without an epoch the resume is taken as the current one.
        #expect(try Self.recovered(replay, .init(broadcast: 9)) == .init(inbox: true, broadcast: false))
    }

    @Test func newestNotedBroadcastOnlyGrows() throws {
        let replay = LiveOnlyReplay()
        replay.noteBroadcast(app: "demo", seq: 10)
        replay.noteBroadcast(app: "demo", seq: 4)
        #expect(
            try Self.recovered(replay, .init(epoch: "epoch-1", broadcast: 9)) == .init(inbox: true, broadcast: false))
        // Apps are independent.
        replay.noteBroadcast(app: "other", seq: 100)
        #expect(
            try Self.recovered(replay, .init(epoch: "epoch-1", broadcast: 10)) == .init(inbox: true, broadcast: true))
    }
}
