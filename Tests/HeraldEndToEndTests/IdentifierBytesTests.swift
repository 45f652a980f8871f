import HeraldTestUtils
import HeraldWire
import Testing

/// Canonically equivalent spellings are different identifiers: the gateway keeps users,
/// devices and topics apart by their bytes, as the stores do (docs/protocol.md).
@Suite("Identifiers by bytes", .sharedServer, .timeLimit(.minutes(1)))
struct IdentifierBytesTests {
    /// Pairs that Swift's `String` equality holds equal and whose UTF-8 bytes differ.
    static let pairs: [(composed: String, decomposed: String)] = [
        ("zo\u{EB}", "zoe\u{308}"),
        ("\u{C5}", "\u{212B}"),
    ]

    @Test("each spelling of a user receives only its own pushes", arguments: Transport.allCases)
    func pushesStayApart(transport: Transport) async throws {
        let harness = try await Harness.make()
        for (first, second) in Self.pairs {
            #expect(first == second && Array(first.utf8) != Array(second.utf8))
            let (a, _) = try await harness.connectAndAuth(transport, user: first, device: "phone")
            let (b, _) = try await harness.connectAndAuth(transport, user: second, device: "phone")

            #expect(try await harness.api.push(harness.app, users: [first], payload: .text("to a")).sessions == 1)
            #expect(try await harness.api.push(harness.app, users: [second], payload: .text("to b")).sessions == 1)
            // Each connection's next frame is its own push: had it received the other's (or a
            // GOAWAY replaced), this would read that instead.
            #expect(try await a.receivePush().body.payloadBytes == Array("to a".utf8))
            #expect(try await b.receivePush().body.payloadBytes == Array("to b".utf8))
            // One push naming both spellings is for two users, not one named twice.
            #expect(try await harness.api.push(harness.app, users: [first, second], payload: .text("both")).sessions == 2)
            #expect(try await a.receivePush().body.payloadBytes == Array("both".utf8))
            #expect(try await b.receivePush().body.payloadBytes == Array("both".utf8))
            try await a.ping(seq: 9)
            try await b.ping(seq: 9)
        }
    }

    @Test("AUTH of one spelling of a device does not replace the other", arguments: Transport.allCases)
    func devicesStayApart(transport: Transport) async throws {
        let harness = try await Harness.make()
        for (first, second) in Self.pairs {
            let (a, _) = try await harness.connectAndAuth(transport, user: "zoe", device: first)
            let (b, okB) = try await harness.connectAndAuth(transport, user: "zoe", device: second)
            #expect(okB.device == second)
            // On one connection too: the second session opens beside the first.
            let shared = try await harness.connect(transport)
            #expect(try await shared.auth(token: try await harness.token(user: first), seq: 1).session == 1)
            #expect(try await shared.auth(token: try await harness.token(user: second), seq: 2).session == 2)

            #expect(try await harness.api.push(harness.app, users: ["zoe"], payload: .text("both")).sessions == 2)
            #expect(try await a.receivePush().body.payloadBytes == Array("both".utf8))
            #expect(try await b.receivePush().body.payloadBytes == Array("both".utf8))
            #expect(try await harness.api.kick(harness.app, user: "zoe") == 2)
            _ = try await a.receiveGoAway()
            _ = try await b.receiveGoAway()

            #expect(try await harness.api.push(harness.app, users: [first], payload: .text("1")).sessions == 1)
            #expect(try await shared.receivePush().body.session == 1)
            #expect(try await harness.api.push(harness.app, users: [second], payload: .text("2")).sessions == 1)
            #expect(try await shared.receivePush().body.session == 2)
            await shared.close()
        }
    }

    @Test("user status and app stats count each spelling on its own")
    func statusAndStats() async throws {
        let harness = try await Harness.make()
        var clients: [RawClient] = []
        for (first, second) in Self.pairs {
            clients.append(try await harness.connectAndAuth(.tcp, user: first, device: "one").0)
            clients.append(try await harness.connectAndAuth(.webSocket, user: second, device: "two").0)
        }
        for (first, second) in Self.pairs {
            let statusA = try await harness.api.userStatus(harness.app, user: first)
            let statusB = try await harness.api.userStatus(harness.app, user: second)
            #expect(statusA.sessions.map(\.device) == ["one"])
            #expect(statusB.sessions.map(\.device) == ["two"])
        }
        let stats = try await harness.api.stats(harness.app)
        #expect(stats["sessions"]?.int == 4)
        #expect(stats["users"]?.int == 4)
        #expect(try await harness.api.kick(harness.app, user: Self.pairs[0].composed) == 1)
        _ = try await clients[0].receiveGoAway()
        try await clients[1].ping(seq: 3)
        _ = clients
    }

    @Test("a topic message reaches only the subscribers of its own spelling", arguments: Transport.allCases)
    func topicsStayApart(transport: Transport) async throws {
        let harness = try await Harness.make()
        for (first, second) in Self.pairs {
            let (a, _) = try await harness.connectAndAuth(transport, user: "a")
            let (b, _) = try await harness.connectAndAuth(transport, user: "b")
            try await a.send(.subscribe(seq: 5, TopicsRequest(session: 1, topics: [first])))
            #expect(try await a.receive() == .ok(seq: 5))
            try await b.send(.subscribe(seq: 5, TopicsRequest(session: 1, topics: [second])))
            #expect(try await b.receive() == .ok(seq: 5))
            // Both spellings on one session are two subscriptions.
            try await b.send(.subscribe(seq: 6, TopicsRequest(session: 1, topics: [first, second, first])))
            #expect(try await b.receive() == .ok(seq: 6))
            try await b.send(.unsubscribe(seq: 7, TopicsRequest(session: 1, topics: [first])))
            #expect(try await b.receive() == .ok(seq: 7))

            #expect(try await harness.api.publish(harness.app, topic: first, payload: .text("to a")) == 1)
            #expect(try await harness.api.publish(harness.app, topic: second, payload: .text("to b")) == 1)
            let pushA = try await a.receivePush()
            #expect(Array(pushA.body.topic.utf8) == Array(first.utf8))
            #expect(pushA.body.payloadBytes == Array("to a".utf8))
            let pushB = try await b.receivePush()
            #expect(Array(pushB.body.topic.utf8) == Array(second.utf8))
            #expect(pushB.body.payloadBytes == Array("to b".utf8))
            await a.close()
            await b.close()
        }
    }
}
