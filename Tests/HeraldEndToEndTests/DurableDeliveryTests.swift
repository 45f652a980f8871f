import Foundation
import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

/// QoS 1 inboxes, acknowledgement cursors, broadcast resume and the recovery contract,
/// against the real server on its embedded SQLite store.
@Suite("Durable delivery", .timeLimit(.minutes(3)))
struct DurableDeliveryTests {
    /// The pushes that arrive until nothing more comes for `quiet`.
    static func drain(_ client: RawClient, quiet: Duration = .milliseconds(400)) async throws
        -> [(seq: UInt32, flags: FrameFlags, body: PushBody)]
    {
        var pushes: [(seq: UInt32, flags: FrameFlags, body: PushBody)] = []
        while let event = try await client.poll(for: quiet) {
            guard case .frame(let frame) = event else {
                Issue.record("unexpected event \(event)")
                break
            }
            guard case .push(let seq, let flags, let body) = try ServerMessage(frame) else {
                Issue.record("unexpected frame \(frame)")
                continue
            }
            pushes.append((seq, flags, body))
        }
        return pushes
    }

    @Test("QoS 1 to an offline user is stored and replayed in order, with ACK_REQUIRED, per device", arguments: [Transport.tcp, .webSocket])
    func offlineInboxIsReplayedPerDevice(transport: Transport) async throws {
        let harness = try await Harness.make()
        var sequences: [Int] = []
        for index in 1...5 {
            let answer = try await harness.api.push(harness.app, users: ["alice"], payload: .text("m\(index)"), qos: 1)
            #expect(answer.sessions == 0)
            sequences.append(answer.messages?.first?.seq ?? -1)
        }
        #expect(sequences == [1, 2, 3, 4, 5])

        let (phone, ok) = try await harness.connectAndAuth(transport, user: "alice", device: "phone")
        #expect(ok.recovered == AuthOK.Recovered(inbox: true, broadcast: true))
        var replayed = try await Self.drain(phone)
        #expect(replayed.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(replayed.allSatisfy { $0.flags.contains(.ackRequired) && $0.body.kind == .user })
        #expect(replayed.map { String(buffer: $0.body.payload) } == ["m1", "m2", "m3", "m4", "m5"])

        // Online now: a QoS 1 push is written live with its sequence.
        let live = try await harness.api.push(harness.app, users: ["alice"], payload: .text("m6"), qos: 1)
        #expect(live.messages?.first?.seq == 6)
        #expect(live.sessions == 1)
        let pushed = try await phone.receivePush()
        #expect(pushed.seq == 6)
        #expect(pushed.flags.contains(.ackRequired))

        try await phone.send(.ack(seq: 4, AckBody(session: ok.session, kind: .user)))
        try await phone.ping(seq: 9)  // the ACK was read before the PONG
        await phone.close()

        // The same device gets only what it had not acknowledged.
        let (again, _) = try await harness.connectAndAuth(transport, user: "alice", device: "phone")
        replayed = try await Self.drain(again)
        #expect(replayed.map(\.seq) == [5, 6])
        await again.close()

        // Another device of the same user has acknowledged nothing.
        let (tablet, _) = try await harness.connectAndAuth(transport, user: "alice", device: "tablet")
        #expect(try await Self.drain(tablet).map(\.seq) == [1, 2, 3, 4, 5, 6])
        await tablet.close()

        // resume.inbox filters what the client already has.
        let resumed = try await harness.connect(transport)
        let resumedOK = try await resumed.auth(
            token: try await harness.token(user: "alice", device: "watch"),
            resume: AuthRequest.Resume(epoch: ok.epoch, inbox: 5)
        )
        #expect(resumedOK.recovered == AuthOK.Recovered(inbox: true, broadcast: true))
        #expect(try await Self.drain(resumed).map(\.seq) == [6])

        let status = try await harness.api.request(
            "GET",
            "/v1/apps/\(harness.app.id)/users/alice",
            bearer: harness.app.secret
        )
        #expect(status.json?["inboxSeq"]?.int == 6)
    }

    @Test("broadcasts above resume.broadcast are replayed; a foreign epoch recovers nothing")
    func broadcastResume() async throws {
        let harness = try await Harness.make()
        let (first, ok) = try await harness.connectAndAuth(.tcp, user: "bob")
        var sequences: [Int] = []
        for index in 1...3 {
            sequences.append(try await harness.api.broadcast(harness.app, payload: .text("b\(index)")).seq)
        }
        #expect(sequences == [1, 2, 3])
        #expect(try await Self.drain(first).map(\.seq) == [1, 2, 3])
        await first.close()

        let resumed = try await harness.connect(.webSocket)
        let resumedOK = try await resumed.auth(
            token: try await harness.token(user: "bob"),
            resume: AuthRequest.Resume(epoch: ok.epoch, inbox: 0, broadcast: 1)
        )
        #expect(resumedOK.recovered == AuthOK.Recovered(inbox: true, broadcast: true))
        let replayed = try await Self.drain(resumed)
        #expect(replayed.map(\.seq) == [2, 3])
        #expect(replayed.allSatisfy { $0.body.kind == .broadcast && !$0.flags.contains(.ackRequired) })

        let foreign = try await harness.connect(.tcp)
        let foreignOK = try await foreign.auth(
            token: try await harness.token(user: "bob", device: "other"),
            resume: AuthRequest.Resume(epoch: "not-\(ok.epoch)", inbox: 0, broadcast: 1)
        )
        #expect(foreignOK.recovered == AuthOK.Recovered(inbox: false, broadcast: false))
        #expect(foreignOK.epoch == ok.epoch)
        #expect(try await Self.drain(foreign).isEmpty)
    }

    @Test("past the inbox bound the oldest become dead letters and recovered.inbox is false")
    func inboxBound() async throws {
        let harness = try await Harness.make()
        let app = try await harness.api.createApp(prefix: "bound", policy: .object(["inboxLimit": .number(2)]))
        for index in 1...4 {
            _ = try await harness.api.push(app, users: ["carol"], payload: .text("c\(index)"), qos: 1)
        }
        let client = try await RawClient.connect(.tcp, to: harness.server)
        let ok = try await client.auth(token: try await harness.api.token(app, user: "carol"))
        #expect(ok.recovered.inbox == false)
        #expect(try await Self.drain(client).map(\.seq) == [3, 4])

        let page = try await harness.api.deadLetters(app)
        let letters = page["deadLetters"]?.array ?? []
        #expect(letters.compactMap { $0["seq"]?.int } == [2, 1])
        #expect(letters.allSatisfy { $0["reason"]?.string == "inbox_full" && $0["user"]?.string == "carol" })
    }

    @Test("collapse keys keep only the newest unacknowledged message of a key")
    func collapseKey() async throws {
        let harness = try await Harness.make()
        for score in ["1-0", "2-0", "2-1"] {
            _ = try await harness.api.push(
                harness.app,
                users: ["dave"],
                payload: .text(score),
                qos: 1,
                collapseKey: "score"
            )
        }
        _ = try await harness.api.push(harness.app, users: ["dave"], payload: .text("other"), qos: 1)
        let (client, ok) = try await harness.connectAndAuth(.tcp, user: "dave")
        #expect(ok.recovered.inbox)
        let replayed = try await Self.drain(client)
        #expect(replayed.map { String(buffer: $0.body.payload) } == ["2-1", "other"])
        #expect(replayed.map(\.seq) == [3, 4])
    }

    @Test("a retried push with the same Idempotency-Key stores nothing new")
    func idempotentRetry() async throws {
        let harness = try await Harness.make()
        let first = try await harness.api.push(
            harness.app, users: ["erin", "frank"], payload: .text("once"), qos: 1, idempotencyKey: "order-17")
        let retry = try await harness.api.push(
            harness.app, users: ["erin", "frank"], payload: .text("once"), qos: 1, idempotencyKey: "order-17")
        #expect(first.messages?.map(\.seq) == [1, 1])
        #expect(retry.messages?.map(\.seq) == [1, 1])
        let conflict = try await harness.api.request(
            "POST",
            "/v1/apps/\(harness.app.id)/messages",
            bearer: harness.app.secret,
            headers: ["Idempotency-Key": "order-17"],
            json: .object(["users": .array([.string("erin")]), "payload": .string("different"), "qos": .number(1)])
        )
        #expect(conflict.status == 409)
        #expect(conflict.errorCode == "idempotency_conflict")
        let (client, _) = try await harness.connectAndAuth(.tcp, user: "erin")
        #expect(try await Self.drain(client).map(\.seq) == [1])
    }

    @Test("expired messages are not replayed, become dead letters, and make recovered.inbox false")
    func expiry() async throws {
        let harness = try await Harness.start(["--sweep-interval", "0.2"])
        _ = try await harness.api.push(harness.app, users: ["gina"], payload: .text("short"), qos: 1, ttl: 1)
        _ = try await harness.api.push(harness.app, users: ["gina"], payload: .text("long"), qos: 1, ttl: 3600)
        try await Task.sleep(for: .milliseconds(1600))
        let (client, ok) = try await harness.connectAndAuth(.tcp, user: "gina")
        #expect(ok.recovered.inbox == false)
        #expect(try await Self.drain(client).map { String(buffer: $0.body.payload) } == ["long"])
        var letters: [JSONValue] = []
        let swept = try await eventually(timeout: .seconds(5)) {
            letters = try await harness.api.deadLetters(harness.app)["deadLetters"]?.array ?? []
            return !letters.isEmpty
        }
        #expect(swept, "the sweeper did not move the expired message to the dead letters")
        #expect(letters.first?["reason"]?.string == "expired")
        #expect(letters.first?["payload"]?.string == "short")
    }
}
