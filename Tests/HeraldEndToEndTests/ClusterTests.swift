import Foundation
import HeraldTestUtils
import HeraldWire
import Testing

extension ClusterEndToEnd {
    /// Three `herald serve` processes on loopback sharing PostgreSQL and Redis (both from
    /// scripts/test), each test in a Redis namespace of its own.
    @Suite("Cluster", .serialized, .timeLimit(.minutes(3)))
    struct ClusterTests {
        @Test("Delivery, kicks and the replace rule cross nodes")
        func deliveryAcrossNodes() async throws {
            let nodes = try await ClusterHarness.startNodes(3)
            let (a, b, c) = (nodes[0], nodes[1], nodes[2])
            // An app made through A works on B at once: B's API issues a token, B's gateway takes it.
            let app = try await APIClient(a).createApp(prefix: "cluster")
            let tokenOnB = await eventually(timeout: .seconds(5)) {
                (try? await APIClient(b).token(app, user: "probe")) != nil
            }
            #expect(tokenOnB)
            let onA = try await ClusterHarness.client(on: a, app: app, user: "ann", issuer: b)
            let onB = try await ClusterHarness.client(on: b, app: app, user: "ben", issuer: b)
            let onC = try await ClusterHarness.client(on: c, app: app, user: "cat", issuer: a)
            #expect(await ClusterHarness.online(app, user: "cat", sessions: 1, asking: a))

            // A unicast pushed to A reaches the client on C.
            _ = try await APIClient(a).push(app, users: ["cat"], payload: .text("to-c"))
            #expect(try await onC.receivePush().body.payloadBytes == Array("to-c".utf8))

            // A broadcast reaches all three.
            _ = try await APIClient(a).broadcast(app, payload: .text("all"))
            for client in [onA, onB, onC] {
                #expect(try await client.receivePush().body.kind == .broadcast)
            }

            // A kick through A ends the session on C.
            #expect(try await APIClient(a).kick(app, user: "cat") == 1)
            #expect(try await onC.receiveGoAway().reason == GoAwayReason.kicked.rawValue)

            // The same device on B replaces the session on A.
            let first = try await ClusterHarness.client(on: a, app: app, user: "dup", issuer: a)
            #expect(await ClusterHarness.online(app, user: "dup", sessions: 1, asking: b))
            let second = try await ClusterHarness.client(on: b, app: app, user: "dup", issuer: b)
            #expect(try await first.receiveGoAway().reason == GoAwayReason.replaced.rawValue)
            #expect(try await APIClient(c).userStatus(app, user: "dup").sessions.map(\.node) == [b.node])

            // Two AUTHs of one device on two nodes at once leave exactly one session.
            async let twinOnB = ClusterHarness.client(on: b, app: app, user: "twin", issuer: b)
            async let twinOnC = ClusterHarness.client(on: c, app: app, user: "twin", issuer: c)
            let twins = try await [twinOnB, twinOnC]
            #expect(await ClusterHarness.online(app, user: "twin", sessions: 1, asking: a))
            let holder = try await APIClient(a).userStatus(app, user: "twin").sessions.first?.node
            let loser = holder == b.node ? twins[1] : twins[0]
            #expect(try await loser.receiveGoAway().reason == GoAwayReason.replaced.rawValue)

            for client in [onA, onB, onC, first, second] + twins { await client.close() }
            for node in nodes { _ = try await node.terminate() }
        }

        @Test("SIGTERM drains a node: dispatch stops offering it at once and its clients move to the others")
        func dispatchFollowsTheLeases() async throws {
            let nodes = try await ClusterHarness.startNodes(3, leaseTTL: "2")
            let (a, b, c) = (nodes[0], nodes[1], nodes[2])
            let app = try await APIClient(a).createApp(prefix: "dispatch")
            let all = Set(nodes.map(\.node))
            #expect(
                await eventually(timeout: .seconds(10)) {
                    (try? await Set(ClusterHarness.dispatched(app, user: "u", by: a))) == all
                })
            let onC = try await ClusterHarness.client(on: c, app: app, user: "mover", issuer: a)
            #expect(await ClusterHarness.online(app, user: "mover", sessions: 1, asking: a))

            // SIGTERM: the lease says draining at once, the clients are told to go, and then the node is gone.
            let stopping = Task { try await c.terminate() }
            #expect(try await onC.receiveGoAway(timeout: .seconds(10)).reason == GoAwayReason.draining.rawValue)
            #expect(
                await eventually {
                    (try? await ClusterHarness.dispatched(app, user: "u", by: a).contains(c.node)) == false
                })
            _ = try await stopping.value
            for _ in 0..<5 {
                #expect(try await !ClusterHarness.dispatched(app, user: "u", by: a).contains(c.node))
            }

            // The client reconnects through dispatch to a node still serving, and is reached there.
            let (moved, node, _) = try await ClusterHarness.reconnect(app, user: "mover", asking: b)
            #expect(node != c.node)
            #expect(await ClusterHarness.online(app, user: "mover", sessions: 1, asking: a))
            _ = try await APIClient(a).push(app, users: ["mover"], payload: .text("moved"))
            #expect(try await moved.receivePush().body.payloadBytes == Array("moved".utf8))
            await moved.close()
            await onC.close()
            _ = try await a.terminate()
            _ = try await b.terminate()
        }

        @Test("A cluster node refuses the SQLite store, and --roles without --redis, with a sentence")
        func clusterFlagsAreChecked() async throws {
            for (arguments, words) in [
                (["--redis", "redis://127.0.0.1:1"], ["postgresql", "sqlite"]),
                (["--roles", "api"], ["--roles", "--redis"]),
            ] {
                do {
                    let server = try await HeraldProcess.start(arguments, readyTimeout: .seconds(20))
                    _ = try await server.terminate()
                    Issue.record("herald started with \(arguments)")
                } catch let error as HeraldProcessError {
                    #expect(!error.message.contains("exit status 0)"), "\(error.message)")
                    for word in words {
                        #expect(error.standardError.lowercased().contains(word), "\(error.standardError)")
                    }
                }
            }
        }
    }
}
