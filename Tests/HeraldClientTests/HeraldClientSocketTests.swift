import HeraldWire
import NIOCore
import Testing

@testable import HeraldClient

@Suite struct HeraldClientSocketTests {
    @Test(arguments: [false, true])
    func pushAckDrainingAndReconnect(webSocket: Bool) async throws {
        let server = try await FakeServer.start(webSocket: webSocket)
        let transport: HeraldClientConfiguration.Transport =
            webSocket ? .webSocket(url: "ws://127.0.0.1:\(server.port)/ws") : .tcp(host: "127.0.0.1", port: server.port)
        let client = HeraldClient(
            configuration: HeraldClientConfiguration(
                transport: transport,
                token: "tok",
                reconnect: Backoff(base: .milliseconds(20), maximum: .milliseconds(100)),
                requestTimeout: .seconds(3)
            )
        )
        try await withTimeout(seconds: 60) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                var events = client.events.makeAsyncIterator()

                let first = await events.next()
                guard case .connected(let session) = first else { throw Failure("expected connected, got \(String(describing: first))") }
                #expect(session.node == "fake-1" && session.epoch == "e1" && session.heartbeat == .seconds(1))

                let pushed = await events.next()
                guard case .push(let push) = pushed else { throw Failure("expected push, got \(String(describing: pushed))") }
                #expect(push.seq == 5 && push.ackRequired && String(buffer: push.payload) == "hello")

                let goaway = await events.next()
                guard case .goaway(let body) = goaway else { throw Failure("expected goaway, got \(String(describing: goaway))") }
                #expect(body.knownReason == .draining)

                let disconnected = await events.next()
                guard case .disconnected(let disconnect) = disconnected else { throw Failure("\(String(describing: disconnected))") }
                #expect(disconnect.reason == .goaway(body))
                let delay = try #require(disconnect.reconnectAfter)
                #expect(delay >= .zero && delay <= .milliseconds(20))

                let second = await events.next()
                guard case .connected(let again) = second else { throw Failure("expected reconnect, got \(String(describing: second))") }
                #expect(again.node == "fake-2")

                try await client.subscribe(["news"])
                try await client.sendUpstream(Array("up".utf8))
                #expect(await client.cursors() == HeraldResumeCursors(epoch: "e1", inbox: 5, broadcast: 0))

                await client.close()
                let last = await events.next()
                guard case .disconnected(let final) = last else { throw Failure("\(String(describing: last))") }
                #expect(final.reason == .closedByClient && final.reconnectAfter == nil)
                #expect(await events.next() == nil)
                try await group.waitForAll()
            }
        }

        let received = server.received
        let auths = received.compactMap { message -> AuthRequest? in
            if case .auth(_, let request) = message { return request }
            return nil
        }
        #expect(auths.count == 2)
        #expect(auths.first?.resume == nil)
        #expect(auths.last?.resume == AuthRequest.Resume(epoch: "e1", inbox: 5, broadcast: 0))
        #expect(received.contains(.ack(seq: 5, AckBody(session: 1, kind: .user))))
        #expect(received.contains { if case .subscribe(_, let r) = $0 { r.topics == ["news"] } else { false } })
        #expect(
            received.contains { if case .upstream(_, let u) = $0 { u.payload == ByteBuffer(string: "up") } else { false } }
        )
        try await server.stop()
    }

    @Test func connectionRefusedBacksOffUntilClosed() async throws {
        // A port that is bound but never listened on: refused for as long as the test runs.
        let reserved = try ReservedPort()
        let port = reserved.port
        let client = HeraldClient(
            configuration: HeraldClientConfiguration(
                transport: .tcp(host: "127.0.0.1", port: port),
                token: "tok",
                reconnect: Backoff(base: .milliseconds(10), maximum: .milliseconds(40))
            )
        )
        try await withTimeout(seconds: 60) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                var events = client.events.makeAsyncIterator()
                for _ in 0..<3 {
                    let event = await events.next()
                    guard case .disconnected(let disconnect) = event, case .connectFailed = disconnect.reason else {
                        throw Failure("expected connectFailed, got \(String(describing: event))")
                    }
                    #expect(disconnect.reconnectAfter != nil)
                }
                await expectNotConnected { try await client.subscribe(["x"]) }
                await client.close()
                try await group.waitForAll()
            }
        }
        withExtendedLifetime(reserved) {}
    }

    @Test func invalidWebSocketURLFailsRun() async throws {
        let client = HeraldClient(configuration: HeraldClientConfiguration(transport: .webSocket(url: "http://x"), token: "t"))
        await #expect(throws: HeraldClientError.invalidURL("http://x")) { try await client.run() }
    }

    @Test func webSocketURLParsing() {
        #expect(WebSocketURL("ws://example.com:7071/ws") == WebSocketURL(host: "example.com", port: 7071, path: "/ws"))
        #expect(WebSocketURL("ws://example.com") == WebSocketURL(host: "example.com", port: 80, path: "/"))
        #expect(WebSocketURL("ws://[::1]:9/ws?x=1") == WebSocketURL(host: "::1", port: 9, path: "/ws?x=1"))
        #expect(WebSocketURL("ws://h:0/") == nil)
        #expect(WebSocketURL("wss://h/") == WebSocketURL(host: "h", port: 443, path: "/", secure: true))
        #expect(WebSocketURL("wss://h:7071/ws")?.hostHeader == "h:7071")
        #expect(WebSocketURL("http://h/") == nil)
        #expect(WebSocketURL("ws://:80/") == nil)
    }

    @Test func endpointParsing() {
        typealias Transport = HeraldClientConfiguration.Transport
        #expect(Transport(endpoint: "127.0.0.1:7070") == .tcp(host: "127.0.0.1", port: 7070))
        #expect(Transport(endpoint: "tcp://h:7070") == .tcp(host: "h", port: 7070))
        #expect(Transport(endpoint: "tls://push.example.com:7070") == .tls(host: "push.example.com", port: 7070))
        #expect(Transport(endpoint: "tls://[::1]:7070") == .tls(host: "::1", port: 7070))
        #expect(Transport(endpoint: "wss://h/ws") == .webSocket(url: "wss://h/ws"))
        #expect(Transport(endpoint: "ws://h:7071/ws") == .webSocket(url: "ws://h:7071/ws"))
        #expect(Transport(endpoint: "tls://h") == nil)
        #expect(Transport(endpoint: "tls://:7070") == nil)
        #expect(Transport(endpoint: "https://h:443") == nil)
    }
}

extension WebSocketURL {
    init(host: String, port: Int, path: String, secure: Bool = false) {
        self.init("ws://placeholder")!
        self.host = host
        self.port = port
        self.path = path
        self.secure = secure
    }
}

func expectNotConnected(_ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected notConnected")
    } catch {
        #expect(error as? HeraldClientError == .notConnected)
    }
}

/// Runs `body`, failing if it takes longer than `seconds`.
func withTimeout(seconds: Double, _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await body()
            return true
        }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return false
        }
        let finished = try await group.next() ?? false
        group.cancelAll()
        if !finished { throw Failure("timed out after \(seconds) s") }
    }
}
