import Foundation
import HeraldTestUtils
import Testing

extension ClusterEndToEnd {
    /// A cluster whose nodes each run in a network namespace of their own, so that one node can be
    /// cut off from Redis for real (its link down) while the others and the test carry on: the
    /// lease rule (docs/architecture.md, "Cluster mode") seen from the outside.
    ///
    /// Skipped where network namespaces are not available (not root, no iproute2, a container
    /// without CAP_SYS_ADMIN) or redis-server is missing: the condition tries `ip netns add` and
    /// prints why it cannot run.
    @Suite(
        "Cluster in network namespaces",
        .serialized,
        .timeLimit(.minutes(4)),
        .enabled(if: NamespaceRequirements.met, "needs `ip netns` (root and iproute2) and redis-server")
    )
    struct ClusterNamespaceTests {
        /// Seconds a lease lasts: renewed every second, so a cut-off node notices within one
        /// Redis command timeout (5 s) after that.
        static let leaseTTL = 3

        /// `$HERALD_TEST_POSTGRES_URL`, which scripts/test sets: a PostgreSQL on loopback.
        static func postgresURL() throws -> URLComponents {
            guard let url = ProcessInfo.processInfo.environment["HERALD_TEST_POSTGRES_URL"], !url.isEmpty,
                let components = URLComponents(string: url), components.port != nil
            else {
                throw HeraldProcessError("HERALD_TEST_POSTGRES_URL is not set: run scripts/test")
            }
            return components
        }

        @Test("A node cut off from Redis drains its clients, leaves dispatch, and serves again once its link is back")
        func partitionedNodeDrainsAndReturns() async throws {
            let network = try VirtualNetwork.make()
            defer { network.remove() }

            // PostgreSQL (loopback only) through a forwarder on the bridge; Redis in a namespace.
            var postgres = try Self.postgresURL()
            let forwarder = try await TCPForwarder.start(
                listeningOn: network.bridgeAddress, to: postgres.host ?? "127.0.0.1", port: postgres.port ?? 5432)
            defer { forwarder.close() }
            postgres.host = network.bridgeAddress
            postgres.port = forwarder.port
            let store = postgres.string ?? ""
            let redisNamespace = try network.addNamespace()
            let redis = try ChildProcess(
                network.launcher(in: redisNamespace) + [
                    NamespaceRequirements.redisServer ?? "redis-server", "--bind", redisNamespace.address, "--port",
                    "6379",
                    "--save", "", "--appendonly", "no", "--protected-mode", "no",
                ])
            defer { redis.stop() }
            let redisReady = await eventually(timeout: .seconds(20)) {
                redis.lines.contains { $0.contains("Ready to accept connections") }
            }
            try #require(redisReady, "redis-server did not start: \(redis.transcript)")

            var nodes: [HeraldProcess] = []
            var namespaces: [VirtualNetwork.Namespace] = []
            let cluster = "netns-" + UUID().uuidString.prefix(8).lowercased()
            for index in 0..<3 {
                let namespace = try network.addNamespace()
                namespaces.append(namespace)
                nodes.append(
                    try await HeraldProcess.start(
                        [
                            "--store", store, "--redis", "redis://\(redisNamespace.address):6379",
                            "--redis-namespace", cluster, "--node-id", "\(cluster)-\(index)",
                            "--lease-ttl", "\(Self.leaseTTL)", "--drain-timeout", "1", "--event-loops", "1",
                            "--api-host", namespace.address,
                        ],
                        readyTimeout: .seconds(60),
                        host: namespace.address,
                        launcher: network.launcher(in: namespace)
                    ))
            }
            let (a, b, c) = (nodes[0], nodes[1], nodes[2])
            let app = try await APIClient(a).createApp(prefix: "netns")
            let all = Set(nodes.map(\.node))
            #expect(await eventually(timeout: .seconds(20)) { (try? await Self.dispatched(app, by: a)) == all })
            // B reads the app from PostgreSQL on its own time: wait until it knows it.
            #expect(
                await eventually(timeout: .seconds(20)) { (try? await APIClient(b).token(app, user: "probe")) != nil })

            // A client of C, in C's namespace (over its own loopback, which the cut leaves alone),
            // and a client of A, from here.
            let listener = try ChildProcess(
                network.launcher(in: namespaces[2]) + [
                    try HeraldProcess.locateBinary().path, "listen", "--tcp", "\(c.ready.tcp.host):\(c.tcpPort)",
                    "--app", app.id, "--secret", app.secret, "--user", "carol",
                ])
            defer { listener.stop() }
            #expect(await Self.connections(of: listener, to: c) == 1, "\(listener.transcript)")
            let onA = try await RawClient.connect(.tcp, host: a.ready.tcp.host, port: a.tcpPort)
            try await onA.auth(token: try await APIClient(a).token(app, user: "ann"))

            // Cut C off: after its lease it sends its client away, and the others stop offering it.
            try network.setLink(of: namespaces[2], up: false)
            let drained = await eventually(timeout: .seconds(60)) {
                listener.lines.contains { $0.hasPrefix("goaway reason=draining") }
            }
            #expect(drained, "the client of the cut-off node got no GOAWAY draining: \(listener.transcript)")
            #expect(
                await eventually(timeout: .seconds(30)) {
                    (try? await Self.dispatched(app, by: a)) == [a.node, b.node]
                },
                "dispatch still offers the cut-off node"
            )
            // The rest of the cluster still delivers: a push through B reaches the client of A.
            _ = try await APIClient(b).push(app, users: ["ann"], payload: .text("still here"))
            #expect(try await onA.receivePush(timeout: .seconds(10)).body.payloadBytes == Array("still here".utf8))

            // Link back: C renews its lease, dispatch offers it again, and its client is back on it.
            try network.setLink(of: namespaces[2], up: true)
            #expect(
                await eventually(timeout: .seconds(30)) { (try? await Self.dispatched(app, by: a)) == all },
                "dispatch does not offer the node again"
            )
            // The client retries with backoff (at most 30 s between tries).
            #expect(
                await Self.connections(of: listener, to: c, atLeast: 2, timeout: .seconds(60)) >= 2,
                "the client did not connect to the node again: \(listener.transcript)"
            )

            await onA.close()
            listener.stop()
            for node in nodes { _ = try? await node.terminate() }
        }

        /// The nodes `GET /v1/dispatch` offers, as asked of `node`.
        static func dispatched(_ app: AppCredentials, by node: HeraldProcess) async throws -> Set<String> {
            let answer = try await APIClient(node).dispatch(app, user: "carol")
            return Set((answer["endpoints"]?.array ?? []).compactMap { $0["node"]?.string })
        }

        /// How many times `herald listen` said it connected to `node`, once that is `atLeast` or `timeout` passed.
        static func connections(
            of listener: ChildProcess,
            to node: HeraldProcess,
            atLeast count: Int = 1,
            timeout: Duration = .seconds(20)
        ) async -> Int {
            func connected() -> Int {
                listener.lines.filter { $0.hasPrefix("connected ") && $0.hasSuffix("node=\(node.node)") }.count
            }
            _ = await eventually(timeout: timeout) { connected() >= count }
            return connected()
        }
    }
}

/// What the suite needs, apart from it: a trait may not name the type it is attached to.
private enum NamespaceRequirements {
    static var met: Bool {
        if let reason = VirtualNetwork.unavailability {
            print("ClusterNamespaceTests: skipped: network namespaces are not available here: \(reason)")
            return false
        }
        guard Self.redisServer != nil else {
            print("ClusterNamespaceTests: skipped: redis-server is not installed")
            return false
        }
        return true
    }

    /// `$HERALD_TEST_REDIS_SERVER` (scripts/test sets it), else redis-server on the usual paths.
    static var redisServer: String? {
        let candidates =
            [ProcessInfo.processInfo.environment["HERALD_TEST_REDIS_SERVER"]].compactMap { $0 }
            + ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"]
        return candidates.first { !$0.isEmpty && FileManager.default.isExecutableFile(atPath: $0) }
    }
}
