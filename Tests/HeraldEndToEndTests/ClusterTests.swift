import Foundation
import HeraldTestUtils
import HeraldWire
import Testing

/// Three `herald serve` processes on loopback sharing PostgreSQL and Redis (both from
/// scripts/test), each test in a Redis namespace of its own.
@Suite("Cluster", .serialized, .timeLimit(.minutes(3)))
struct ClusterTests {
    /// Starts `count` nodes of one cluster.
    static func startNodes(_ count: Int, leaseTTL: String = "10") async throws -> [HeraldProcess] {
        let environment = ProcessInfo.processInfo.environment
        guard let postgres = environment["HERALD_TEST_POSTGRES_URL"], !postgres.isEmpty,
            let redis = environment["HERALD_TEST_REDIS_URL"], !redis.isEmpty
        else {
            throw HeraldProcessError("HERALD_TEST_POSTGRES_URL and HERALD_TEST_REDIS_URL are not set: run scripts/test")
        }
        let namespace = "e2e-" + UUID().uuidString.prefix(8).lowercased()
        var nodes: [HeraldProcess] = []
        for index in 0..<count {
            nodes.append(
                try await HeraldProcess.start([
                    "--store", postgres, "--redis", redis, "--redis-namespace", namespace,
                    "--node-id", "\(namespace)-\(index)", "--lease-ttl", leaseTTL, "--drain-timeout", "1",
                    "--event-loops", "1",
                ]))
        }
        return nodes
    }

    /// The nodes `GET /v1/dispatch` offers `user`, as asked of `node`.
    static func dispatched(_ app: AppCredentials, user: String, by node: HeraldProcess) async throws -> [String] {
        let answer = try await APIClient(node).dispatch(app, user: user)
        return (answer["endpoints"]?.array ?? []).compactMap { $0["node"]?.string }
    }

    /// A client on `node`, authenticated with a token `issuer` made.
    static func client(
        on node: HeraldProcess, app: AppCredentials, user: String, device: String = "phone", issuer: HeraldProcess
    ) async throws -> RawClient {
        let client = try await RawClient.connect(.tcp, to: node)
        try await client.auth(token: try await APIClient(issuer).token(app, user: user, device: device))
        return client
    }

    /// Waits until the cluster lists `count` sessions of `user`.
    static func online(_ app: AppCredentials, user: String, sessions count: Int, asking node: HeraldProcess) async -> Bool {
        await eventually(timeout: .seconds(10)) {
            (try? await APIClient(node).userStatus(app, user: user).sessions.count) == count
        }
    }

    @Test("Delivery, kicks and the replace rule cross nodes")
    func deliveryAcrossNodes() async throws {
        let nodes = try await Self.startNodes(3)
        let (a, b, c) = (nodes[0], nodes[1], nodes[2])
        // An app made through A works on B at once: B's API issues a token, B's gateway takes it.
        let app = try await APIClient(a).createApp(prefix: "cluster")
        let tokenOnB = await eventually(timeout: .seconds(5)) {
            (try? await APIClient(b).token(app, user: "probe")) != nil
        }
        #expect(tokenOnB)
        let onA = try await Self.client(on: a, app: app, user: "ann", issuer: b)
        let onB = try await Self.client(on: b, app: app, user: "ben", issuer: b)
        let onC = try await Self.client(on: c, app: app, user: "cat", issuer: a)
        #expect(await Self.online(app, user: "cat", sessions: 1, asking: a))

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
        let first = try await Self.client(on: a, app: app, user: "dup", issuer: a)
        #expect(await Self.online(app, user: "dup", sessions: 1, asking: b))
        let second = try await Self.client(on: b, app: app, user: "dup", issuer: b)
        #expect(try await first.receiveGoAway().reason == GoAwayReason.replaced.rawValue)
        #expect(try await APIClient(c).userStatus(app, user: "dup").sessions.map(\.node) == [b.node])

        // Two AUTHs of one device on two nodes at once leave exactly one session.
        async let twinOnB = Self.client(on: b, app: app, user: "twin", issuer: b)
        async let twinOnC = Self.client(on: c, app: app, user: "twin", issuer: c)
        let twins = try await [twinOnB, twinOnC]
        #expect(await Self.online(app, user: "twin", sessions: 1, asking: a))
        let holder = try await APIClient(a).userStatus(app, user: "twin").sessions.first?.node
        let loser = holder == b.node ? twins[1] : twins[0]
        #expect(try await loser.receiveGoAway().reason == GoAwayReason.replaced.rawValue)

        for client in [onA, onB, onC, first, second] + twins { await client.close() }
        for node in nodes { _ = try await node.terminate() }
    }

    @Test("Dispatch never offers a draining node and forgets a killed one within the lease")
    func dispatchFollowsTheLeases() async throws {
        let nodes = try await Self.startNodes(3, leaseTTL: "2")
        let (a, b, c) = (nodes[0], nodes[1], nodes[2])
        let app = try await APIClient(a).createApp(prefix: "dispatch")
        let all = Set(nodes.map(\.node))
        #expect(await eventually(timeout: .seconds(10)) { (try? await Set(Self.dispatched(app, user: "u", by: a))) == all })

        // SIGTERM: the lease says draining at once, and then the node is gone.
        let stopping = Task { try await c.terminate() }
        #expect(await eventually { (try? await Self.dispatched(app, user: "u", by: a).contains(c.node)) == false })
        _ = try await stopping.value
        for _ in 0..<5 {
            #expect(try await !Self.dispatched(app, user: "u", by: a).contains(c.node))
        }

        // SIGKILL: forgotten once its lease lapses.
        _ = try await b.kill()
        #expect(await eventually(timeout: .seconds(10)) { (try? await Self.dispatched(app, user: "u", by: a)) == [a.node] })
        _ = try await a.terminate()
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
