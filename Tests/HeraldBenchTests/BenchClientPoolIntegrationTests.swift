import Foundation
import HeraldBench
import HeraldTestUtils
import Histogram
import Logging
import NIOCore
import NIOPosix
import Testing

/// The engine against a real `herald serve`: pools over TCP and WebSocket from two source
/// addresses, pushes through the API with ``BenchHTTPLoad``, drop and reconnect, and a
/// server at its connection cap.
@Suite("Bench engine against a real server", .serialized, .timeLimit(.minutes(3)))
struct BenchClientPoolIntegrationTests {
    private static let logger = Logger(label: "bench-test")

    private static func target(_ server: HeraldProcess, app: AppCredentials) -> BenchTarget {
        BenchTarget(
            tcpHost: "127.0.0.1",
            tcpPort: server.tcpPort,
            webSocketURL: "ws://127.0.0.1:\(server.webSocketPort)/ws",
            apiBaseURL: server.apiBaseURL.absoluteString,
            app: app.id,
            secret: app.secret
        )
    }

    /// `{"payloadBase64": ...}` of a bench payload stamped now, plus `extra` members.
    private static func body(size: Int = 64, extra: String = "") -> ByteBuffer {
        let payload = BenchPayload.make(sentAt: BenchPayload.now(), size: size)
        let base64 = Data(payload.readableBytesView).base64EncodedString()
        return ByteBuffer(string: #"{"payloadBase64":"\#(base64)"\#(extra)}"#)
    }

    private static func snapshot(
        of pools: [BenchClientPool],
        until condition: (PoolSnapshot) -> Bool
    ) async -> PoolSnapshot {
        var merged = PoolSnapshot()
        _ = await eventually(timeout: .seconds(10)) {
            merged = PoolSnapshot()
            for pool in pools { merged.merge(await pool.currentSnapshot()) }
            return condition(merged)
        }
        return merged
    }

    @Test func connectPushDropAndReconnect() async throws {
        let server = try await HeraldProcess.start()
        let app = try await APIClient(server).createApp()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let target = Self.target(server, app: app)

        let tcp = try BenchClientPool(
            target: target,
            plan: ClientPlan(
                connections: 200,
                userPrefix: "t",
                transport: .tcp,
                sourceAddresses: ["127.0.0.2", "127.0.0.3"],
                connectRate: 2_000,
                heartbeatSeconds: 1
            ),
            threads: 2,
            logger: Self.logger
        )
        let webSocket = try BenchClientPool(
            target: target,
            plan: ClientPlan(
                connections: 50,
                userPrefix: "w",
                transport: .webSocket,
                sourceAddresses: ["127.0.0.2", "127.0.0.3"],
                topics: ["news"]
            ),
            threads: 2,
            logger: Self.logger
        )
        let http = BenchHTTPLoad(apiBaseURL: target.apiBaseURL, bearer: app.secret, connections: 2, group: group)

        let tcpOutcome = await tcp.connectAll()
        #expect(tcpOutcome.error == nil)
        #expect(tcpOutcome.attempted == 200)
        #expect(tcpOutcome.authenticated == 200)
        #expect(tcpOutcome.failed == 0)
        #expect(tcpOutcome.seconds >= 0.09, "200 connections at 2,000/s take about 0.1 s, not \(tcpOutcome.seconds)")
        let wsOutcome = await webSocket.connectAll()
        #expect(wsOutcome.authenticated == 50)
        #expect(wsOutcome.failed == 0)

        var snapshot = await tcp.currentSnapshot()
        #expect(snapshot.attempted == 200)
        #expect(snapshot.connected == 200)
        #expect(snapshot.authenticated == 200)
        #expect(snapshot.open == 200)
        #expect(snapshot.connectFailures + snapshot.authFailures + snapshot.refusedBusy == 0)

        // One broadcast reaches all 250, each stamped.
        let broadcast = try await http.post(path: "/v1/apps/\(app.id)/broadcasts", body: Self.body())
        #expect(
            (200..<300).contains(broadcast.status),
            "broadcast answered \(broadcast.status): \(String(buffer: broadcast.body))")
        snapshot = await Self.snapshot(of: [tcp, webSocket]) { $0.pushes["broadcast"] == 250 }
        #expect(snapshot.pushes["broadcast"] == 250)
        #expect(snapshot.latency["broadcast"]?.totalCount == 250)
        #expect(snapshot.latency["broadcast"]?.max ?? .max < 5_000_000, "a broadcast on loopback takes less than 5 s")
        #expect(snapshot.lastArrivalNanos > 0)

        // User pushes at a steady rate: t0 ... t199 over TCP, and a few to WebSocket users.
        tcp.resetLatencies()
        let report = await http.run(rate: 300, duration: .seconds(1)) { index in
            (path: "/v1/apps/\(app.id)/messages", body: Self.body(extra: #","users":["t\#(index % 200)"],"qos":0"#))
        }
        #expect(report.sent >= 250 && report.sent <= 310, "about 300 requests in 1 s at 300/s, not \(report.sent)")
        #expect(report.failed == 0, "statuses \(report.statuses)")
        #expect(report.succeeded == report.sent)
        #expect(report.latency.totalCount == UInt64(report.sent))
        for user in ["w1", "w2", "w3"] {
            let answer = try await http.post(
                path: "/v1/apps/\(app.id)/messages",
                body: Self.body(extra: #","users":["\#(user)"],"qos":0"#)
            )
            #expect((200..<300).contains(answer.status))
        }
        snapshot = await Self.snapshot(of: [tcp]) { $0.pushes["user"] == report.succeeded }
        #expect(snapshot.pushes["user"] == report.succeeded)
        #expect(snapshot.latency["user"]?.totalCount == UInt64(report.succeeded))
        #expect(snapshot.latency["broadcast"] == nil, "reset before the user pushes")
        let wsSnapshot = await Self.snapshot(of: [webSocket]) { $0.pushes["user"] == 3 }
        #expect(wsSnapshot.pushes["user"] == 3)

        // A topic message reaches the WebSocket pool, which subscribed.
        let topic = try await http.post(path: "/v1/apps/\(app.id)/topics/news/messages", body: Self.body())
        #expect((200..<300).contains(topic.status))
        let topicSnapshot = await Self.snapshot(of: [webSocket]) { $0.pushes["topic"] == 50 }
        #expect(topicSnapshot.pushes["topic"] == 50)
        #expect(topicSnapshot.latency["topic"]?.totalCount == 50)

        // Heartbeats went out (1 s interval) and were answered.
        let beating = await Self.snapshot(of: [tcp]) { $0.pongsReceived >= 200 }
        #expect(beating.pingsSent >= 200)
        #expect(beating.pongsReceived >= 200)
        #expect(beating.closedByServer == 0)

        // Storm: drop everything, reconnect at once.
        await tcp.dropAll()
        snapshot = await tcp.currentSnapshot()
        #expect(snapshot.open == 0)
        #expect(snapshot.closedByServer == 0, "our own closes are not the server's")
        let again = await tcp.reconnectAll(rate: 0)
        #expect(again.attempted == 200)
        #expect(again.authenticated == 200)
        #expect(again.failed == 0)
        snapshot = await tcp.currentSnapshot()
        #expect(snapshot.open == 200)
        #expect(snapshot.authenticated == 400)

        // A second broadcast reaches the reconnected clients too.
        _ = try await http.post(path: "/v1/apps/\(app.id)/broadcasts", body: Self.body())
        snapshot = await Self.snapshot(of: [tcp]) { $0.pushes["broadcast"] == 400 }
        #expect(snapshot.pushes["broadcast"] == 400)

        await http.close()
        await tcp.close()
        await webSocket.close()
        try await group.shutdownGracefully()
        try await server.terminate()
    }

    @Test func refusedConnectionsAreCountedAndRetried() async throws {
        let server = try await HeraldProcess.start(["--max-connections", "50"])
        let app = try await APIClient(server).createApp()
        let target = Self.target(server, app: app)

        let holder = try BenchClientPool(
            target: target,
            plan: ClientPlan(connections: 40, userPrefix: "h", sourceAddresses: ["127.0.0.2"]),
            threads: 2,
            logger: Self.logger
        )
        let latecomer = try BenchClientPool(
            target: target,
            plan: ClientPlan(connections: 20, userPrefix: "l", sourceAddresses: ["127.0.0.3"]),
            threads: 2,
            logger: Self.logger,
            retryPolicy: BenchRetryPolicy(
                maximumAttempts: 40, initialDelayMilliseconds: 20, maximumDelayMilliseconds: 200)
        )
        #expect(await holder.connectAll().authenticated == 40)

        // Only 10 places are left: connectAll does not retry, so 10 are refused and fail.
        let first = await latecomer.connectAll()
        #expect(first.authenticated == 10)
        #expect(first.failed == 10)
        #expect(first.refusedBusy == 10)
        var snapshot = await latecomer.currentSnapshot()
        #expect(snapshot.refusedBusy == 10)
        #expect(snapshot.open == 10)

        // The 10 retry while the server is full, and get in once the holder lets go.
        async let retried = latecomer.reconnectAll(rate: 0)
        try await Task.sleep(for: .milliseconds(500))
        await holder.dropAll()
        let outcome = await retried
        #expect(outcome.attempted == 10)
        #expect(outcome.authenticated == 10)
        #expect(outcome.failed == 0)
        #expect(outcome.retries > 0)
        #expect(outcome.refusedBusy > 0)
        snapshot = await latecomer.currentSnapshot()
        #expect(snapshot.open == 20)
        #expect(snapshot.retries == outcome.retries)
        #expect(snapshot.refusedBusy > 10)

        await holder.close()
        await latecomer.close()
        try await server.terminate()
    }

    @Test func aSmallWindowStillConnectsEveryone() async throws {
        let server = try await HeraldProcess.start()
        let app = try await APIClient(server).createApp()
        let pool = try BenchClientPool(
            target: Self.target(server, app: app),
            plan: ClientPlan(connections: 30, transport: .webSocket),
            threads: 2,
            logger: Self.logger,
            maximumPendingPerLoop: 2
        )
        let outcome = await pool.connectAll()
        #expect(outcome.authenticated == 30)
        #expect(outcome.failed == 0)
        await pool.close()
        try await server.terminate()
    }

    @Test func wrongSecretFailsAuthWithoutRetry() async throws {
        let server = try await HeraldProcess.start()
        let app = try await APIClient(server).createApp()
        var target = Self.target(server, app: app)
        target.secret = "not-the-secret"
        let pool = try BenchClientPool(target: target, plan: ClientPlan(connections: 5), threads: 1, logger: Self.logger)
        let outcome = await pool.reconnectAll(rate: 0)
        #expect(outcome.authenticated == 0)
        #expect(outcome.failed == 5)
        #expect(outcome.retries == 0, "a bad token is not retried")
        let snapshot = await pool.currentSnapshot()
        #expect(snapshot.authFailures == 5)
        await pool.close()
        // A closed pool still answers (an agent may be asked for a snapshot while it stops).
        #expect(await pool.currentSnapshot().authFailures == 5)
        await pool.dropAll()
        try await server.terminate()
    }

    /// Nothing listens on the port: every connect is refused, and each shows as a connect
    /// failure (not as a connection the server closed), retried when the phase retries.
    @Test func connectsToAClosedPortFailAsConnectFailures() async throws {
        // A port that was just free: bound, then closed.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(probe.localAddress?.port)
        try await probe.close()

        let pool = try BenchClientPool(
            target: BenchTarget(
                tcpHost: "127.0.0.1", tcpPort: port, webSocketURL: nil, apiBaseURL: "http://127.0.0.1:1",
                app: "none", secret: "none-none-none-none-none-none-none"),
            plan: ClientPlan(connections: 20, userPrefix: "x", transport: .tcp, sourceAddresses: ["127.0.0.2"]),
            threads: 2,
            logger: Self.logger,
            retryPolicy: BenchRetryPolicy(maximumAttempts: 2, initialDelayMilliseconds: 1, maximumDelayMilliseconds: 1)
        )
        let outcome = await pool.connectAll()
        #expect(outcome.attempted == 20)
        #expect(outcome.failed == 20)
        #expect(outcome.authenticated == 0)
        let snapshot = await pool.currentSnapshot()
        #expect(snapshot.connectFailures == 20)
        #expect(snapshot.connected == 0)
        #expect(snapshot.closedByServer == 0)

        let retried = await pool.reconnectAll(rate: 0)
        #expect(retried.failed == 20)
        #expect(retried.retries == 20, "one retry each, then given up")
        #expect(await pool.currentSnapshot().connectFailures == 60)
        await pool.close()
    }

    @Test func plansOverTheFileLimitAreRefused() async throws {
        let limit = BenchClientPool.connectionLimit()
        #expect(limit > 0)
        let target = BenchTarget(
            tcpHost: "127.0.0.1", tcpPort: 1, webSocketURL: nil, apiBaseURL: "http://127.0.0.1:1", app: "a", secret: "s"
        )
        let plan = ClientPlan(connections: limit + 1)
        #expect(throws: BenchPoolError.self) { try BenchClientPool.validate(plan, target: target) }
        #expect(throws: BenchPoolError.self) {
            try BenchClientPool.validate(ClientPlan(connections: 1, transport: .webSocket), target: target)
        }
        let pool = try BenchClientPool(target: target, plan: plan, threads: 1, logger: Self.logger)
        let outcome = await pool.connectAll()
        #expect(outcome.error?.contains("more than one process may open") == true, "\(outcome.error ?? "no error")")
        #expect(outcome.authenticated == 0)
        #expect(await pool.currentSnapshot().attempted == 0)
        await pool.close()
    }
}
