import HeraldCore
import HeraldWire
import NIOCore
import Testing

@testable import HeraldGateway

/// What a cluster node asks of its gateway: ending one session by identity, listing and
/// counting sessions, and sending clients away while the listeners stay open.
@Suite(.timeLimit(.minutes(1))) struct GatewayClusterHooksTests {
    @Test func aSessionEndsByItsIdentityAndOnlyThen() async throws {
        try await GatewaySocketTests.withGateway(directory: nil) { gateway, addresses in
            let client = try await GatewaySocketTests.connect(port: addresses.tcpPort)
            try await client.executeThenClose { inbound, outbound in
                var reader = StreamReader(iterator: inbound.makeAsyncIterator())
                guard let ok = try await reader.authenticate(outbound) else { return }
                let sessions = await gateway.localSessions()
                #expect(sessions.count == 1)
                guard let session = sessions.first else { return }
                #expect(session.id.number == ok.session && session.node == "n1" && session.device == "phone")
                #expect(await gateway.appCounts() == ["demo": SessionCounts(sessions: 1, users: 1)])

                // Another generation, or another node, is not this session.
                var stale = session.id
                stale.generation += 1
                #expect(await !gateway.endSession(stale, reason: .replaced))
                var elsewhere = session.id
                elsewhere.node = "n2"
                #expect(await !gateway.endSession(elsewhere, reason: .replaced))

                #expect(await gateway.endSession(session.id, reason: .replaced))
                guard case .goaway(let goAway) = try await reader.nextMessage() else {
                    Issue.record("no GOAWAY for the replaced session")
                    return
                }
                #expect(goAway.session == ok.session && goAway.reason == GoAwayReason.replaced.rawValue)
                #expect(await gateway.localSessions().isEmpty)
                #expect(await gateway.appCounts().isEmpty)
                #expect(await !gateway.endSession(session.id, reason: .kicked))
            }
        }
    }

    @Test func drainingSendsClientsAwayUntilTheGatewayServesAgain() async throws {
        try await GatewaySocketTests.withGateway(directory: nil) { gateway, addresses in
            let first = try await GatewaySocketTests.connect(port: addresses.tcpPort)
            try await first.executeThenClose { inbound, outbound in
                var reader = StreamReader(iterator: inbound.makeAsyncIterator())
                guard try await reader.authenticate(outbound) != nil else { return }
                await gateway.drainClients()
                #expect(gateway.isDrainingClients)
                guard case .goaway(let goAway) = try await reader.nextMessage() else {
                    Issue.record("no GOAWAY draining")
                    return
                }
                #expect(goAway.session == 0 && goAway.reason == GoAwayReason.draining.rawValue && goAway.reconnect)
            }

            // The listener is still open; a new connection hears GOAWAY draining at once.
            let second = try await GatewaySocketTests.connect(port: addresses.tcpPort)
            try await second.executeThenClose { inbound, _ in
                var reader = StreamReader(iterator: inbound.makeAsyncIterator())
                guard case .goaway(let goAway) = try await reader.nextMessage() else {
                    Issue.record("no GOAWAY draining for a new connection")
                    return
                }
                #expect(goAway.reason == GoAwayReason.draining.rawValue)
            }

            gateway.serveClients()
            #expect(!gateway.isDrainingClients)
            let third = try await GatewaySocketTests.connect(port: addresses.tcpPort)
            try await third.executeThenClose { inbound, outbound in
                var reader = StreamReader(iterator: inbound.makeAsyncIterator())
                let ok = try await reader.authenticate(outbound)
                #expect(ok != nil)
            }
        }
    }
}
