import HeraldCore
import HeraldWire
import NIOCore
import Testing

@testable import HeraldGateway

/// The gateway answers who is online from its connections, across both event loops.
@Suite(.timeLimit(.minutes(1))) struct GatewaySessionLookupTests {
    @Test func sessionsAndCountsComeFromTheConnections() async throws {
        try await GatewaySocketTests.withGateway(directory: nil) { gateway, addresses in
            // Connections are handed to the loops in turn, so alice is on both.
            let sessions = [("alice", "phone"), ("alice", "tablet"), ("bob", "phone")]
            try await Self.withSessions(sessions[...], port: addresses.tcpPort) { channels in
                let alice = try await gateway.sessions(app: "demo", user: "alice")
                #expect(alice.map(\.device) == ["phone", "tablet"])
                #expect(alice.allSatisfy { $0.app == "demo" && $0.user == "alice" && $0.node == "n1" })
                #expect(alice.count == 2 && alice[0].since <= alice[1].since)
                #expect(try await gateway.sessions(app: "demo", user: "carol").isEmpty)
                #expect(try await gateway.sessions(app: "other", user: "alice").isEmpty)
                #expect(try await gateway.counts(app: "demo") == SessionCounts(sessions: 3, users: 2))
                #expect(try await gateway.counts(app: "other") == SessionCounts(sessions: 0, users: 0))

                // A closed connection leaves the answers once its loop has seen it close.
                try await channels[0].close()
                var remaining = try await gateway.sessions(app: "demo", user: "alice")
                for _ in 0..<1000 where remaining.count != 1 {
                    try await Task.sleep(for: .milliseconds(10))
                    remaining = try await gateway.sessions(app: "demo", user: "alice")
                }
                #expect(remaining.map(\.device) == ["tablet"])
                #expect(try await gateway.counts(app: "demo") == SessionCounts(sessions: 2, users: 2))
            }
        }
    }

    /// A user with sessions on both loops counts once.
    @Test func countsAcrossLoopsCountAUserOnce() {
        let counts = Gateway.merge([
            (sessions: 3, users: ["alice", "bob"]),
            (sessions: 2, users: ["alice", "carol"]),
        ])
        #expect(counts == SessionCounts(sessions: 5, users: 3))
        #expect(Gateway.merge([(sessions: 1, users: ["alice"])]) == SessionCounts(sessions: 1, users: 1))
        #expect(Gateway.merge([]) == SessionCounts(sessions: 0, users: 0))
    }

    /// Opens one authenticated connection per (user, device), then runs `body` with them all.
    private static func withSessions(
        _ sessions: ArraySlice<(String, String)>,
        port: Int,
        opened: [any Channel] = [],
        _ body: ([any Channel]) async throws -> Void
    ) async throws {
        guard let (user, device) = sessions.first else {
            try await body(opened)
            return
        }
        let client = try await GatewaySocketTests.connect(port: port)
        try await client.executeThenClose { inbound, outbound in
            var reader = StreamReader(iterator: inbound.makeAsyncIterator())
            let token = Fixtures.token(user: user, device: device)
            guard try await reader.authenticate(outbound, token: token) != nil else { return }
            try await Self.withSessions(sessions.dropFirst(), port: port, opened: opened + [client.channel], body)
        }
    }
}
