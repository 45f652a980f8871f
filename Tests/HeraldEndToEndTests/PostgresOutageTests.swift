import Foundation
import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

/// PostgreSQL going away mid-run: stored pushes fail clearly, live ones keep flowing, and
/// everything recovers when it is back. On a PostgreSQL of the test's own, so that stopping
/// it disturbs no other test.
@Suite("PostgreSQL outage", .timeLimit(.minutes(3)))
struct PostgresOutageTests {
    @Test("with PostgreSQL stopped QoS 1 answers 503 while QoS 0 flows; all recovers when it returns")
    func outage() async throws {
        let cluster = try await PostgresTestCluster.start()
        do {
            try await Self.run(cluster)
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }

    static func run(_ cluster: PostgresTestCluster) async throws {
        let server = try await HeraldProcess.start(["--store", cluster.url])
        let api = APIClient(server)
        let app = try await api.createApp(prefix: "outage")
        let client = try await RawClient.connect(.tcp, to: server)
        let ok = try await client.auth(token: try await api.token(app, user: "alice"))
        #expect(try await api.push(app, users: ["alice"], payload: .text("before"), qos: 1).messages?.first?.seq == 1)
        #expect(try await client.receivePush().seq == 1)

        try await cluster.stopServer()

        let started = ContinuousClock.now
        let refused = try await api.request(
            "POST",
            "/v1/apps/\(app.id)/messages",
            bearer: app.secret,
            json: .object(["users": .array([.string("alice")]), "payload": .string("during"), "qos": .number(1)])
        )
        #expect(refused.status == 503, "\(refused)")
        #expect(refused.errorCode == "store_unavailable")
        #expect(ContinuousClock.now - started < .seconds(15), "the 503 took too long")

        // Live delivery does not need the store.
        #expect(try await api.push(app, users: ["alice"], payload: .text("live")).sessions == 1)
        let live = try await client.receivePush()
        #expect(live.seq == 0)
        #expect(String(buffer: live.body.payload) == "live")
        try await client.ping(seq: 5)

        // A new session cannot be told what it missed: its AUTH fails clearly, it does not hang.
        let newcomer = try await RawClient.connect(.tcp, to: server)
        await #expect(throws: RawClientError.self) {
            try await newcomer.auth(token: try await api.token(app, user: "bob"), timeout: .seconds(20))
        }

        try await cluster.startServer()
        var seq: Int?
        let recovered = try await eventually(timeout: .seconds(30), interval: .milliseconds(250)) {
            let answer = try await api.request(
                "POST",
                "/v1/apps/\(app.id)/messages",
                bearer: app.secret,
                json: .object(["users": .array([.string("alice")]), "payload": .string("after"), "qos": .number(1)])
            )
            seq = answer.json?["messages"]?[0]?["seq"]?.int
            return answer.status == 200
        }
        #expect(recovered, "QoS 1 did not recover after PostgreSQL came back")
        #expect(seq == 2, "the failed push must not have used a sequence")
        let after = try await client.receivePush()
        #expect(after.seq == 2)
        #expect(after.flags.contains(.ackRequired))
        #expect(ok.session == after.body.session)
        try await server.terminate()
    }
}
