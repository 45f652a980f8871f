import HeraldClient
import HeraldTestUtils
import HeraldWire
import NIOCore
import NIOSSL
import Testing

/// TLS on every listener of one node: the SDK authenticates and receives pushes over
/// `tls://` and `wss://`, the command line calls the API over `https://`, and what is not
/// TLS 1.2+ from a trusted server does not get through.
@Suite(.tlsNode)
struct TLSTests {
    @Test("AUTH and a push over tls:// and wss://, sent with herald push over https://")
    func authAndPush() async throws {
        let node = try TLSNode.current()
        let app = try await node.createApp(prefix: "tls")
        let tcp = node.client(.tls(host: "127.0.0.1", port: node.server.tcpPort), app: app, user: "alice")
        let webSocket = node.client(.webSocket(url: "wss://localhost:\(node.server.webSocketPort)/ws"), app: app, user: "bob")
        for client in [tcp, webSocket] {
            let connected = await client.next { if case .connected = $0 { true } else { false } }
            #expect(connected != nil, "the client never connected")
        }

        let pushed = try await node.command(
            ["push"], ["--app", app.id, "--secret", app.secret, "--user", "alice", "--user", "bob", "hello over TLS"])
        #expect(pushed.status == 0, "herald push failed: \(pushed.error)")
        #expect(pushed.output.contains("\"sessions\" : 2"))
        for client in [tcp, webSocket] {
            let event = await client.next { if case .push = $0 { true } else { false } }
            guard case .push(let push) = event else {
                Issue.record("no push arrived")
                continue
            }
            #expect(String(decoding: push.payload.readableBytesView, as: UTF8.self) == "hello over TLS")
        }
        await tcp.stop()
        await webSocket.stop()
    }

    @Test("/v1/dispatch hands out tls:// and wss:// endpoints")
    func dispatchNamesTLS() async throws {
        let node = try TLSNode.current()
        let app = try await node.createApp(prefix: "tls-dispatch")
        let answer = try await TLSProbe.get(
            "/v1/dispatch?app=\(app.id)&user=dave", bearer: app.secret, port: node.server.apiPort,
            trusting: node.pki.caFile)
        #expect(answer.contains("\"tcp\":\"tls://"), "\(answer)")
        #expect(answer.contains("\"ws\":\"wss://"), "\(answer)")
    }

    @Test("A plain client on the TLS port gets no answer and is closed")
    func plainClientIsClosed() async throws {
        let node = try TLSNode.current()
        let plain = try await RawClient.connect(.tcp, host: "127.0.0.1", port: node.server.tcpPort)
        try await plain.send(.auth(seq: 1, AuthRequest(token: "not.a.token", resume: nil)))
        // What comes back before the close is a TLS alert, which no frame decoder reads as a frame.
        var closed = false
        while !closed, let event = try await plain.poll(for: .seconds(10)) {
            switch event {
            case .closed: closed = true
            case .frame(let frame): Issue.record("a plain client got a frame from a TLS port: \(frame)")
            case .text, .malformed: break
            }
        }
        #expect(closed, "the plain connection stayed open")
    }

    @Test("A client that offers at most TLS 1.1 is refused")
    func tls11IsRefused() async throws {
        let node = try TLSNode.current()
        await #expect(throws: (any Error).self) {
            try await TLSProbe.handshake(port: node.server.tcpPort, trusting: node.pki.caFile, maximumVersion: .tlsv11)
        }
        // The same probe with TLS 1.2 allowed gets through: what failed was the version.
        _ = try await TLSProbe.handshake(port: node.server.tcpPort, trusting: node.pki.caFile, maximumVersion: .tlsv12)
    }

    @Test("A server whose CA is not trusted fails the command with a sentence")
    func untrustedCA() async throws {
        let node = try TLSNode.current()
        let other = try TestPKI(name: "Another CA")
        let listed = try await node.command(["apps", "list"], ["--admin-key", node.server.adminKey], caFile: other.caFile)
        #expect(listed.status != 0)
        #expect(listed.error.contains("the TLS certificate of localhost was not accepted"), "\(listed.error)")
    }
}
