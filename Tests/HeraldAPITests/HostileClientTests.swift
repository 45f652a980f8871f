import Foundation
import HeraldAPI
import HeraldTestUtils
import HummingbirdTesting
import Testing

/// The API under clients that hold sockets without finishing requests, over real sockets:
/// each limit closes or answers what it should, and ordinary requests still get through.
@Suite("API: hostile clients")
struct HostileClientTests {
    static let healthRequest = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"

    @Test func halfSentHeadIsClosedAfterTheHeadDeadline() async throws {
        try await APIHarness.run(
            .live,
            configure: {
                $0.headTimeout = .milliseconds(200)
                $0.idleTimeout = .seconds(3600)
            }
        ) { server in
            let socket = try RawSocket(port: try #require(server.client.port))
            try socket.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            let answer = try await socket.readUntilClosed()
            #expect(answer == "", "the connection should close without an answer")
        }
    }

    @Test func idleKeepAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await APIHarness.run(
            .live,
            configure: {
                $0.headTimeout = .seconds(3600)
                $0.idleTimeout = .milliseconds(200)
            }
        ) { server in
            let socket = try RawSocket(port: try #require(server.client.port))
            try socket.send(Self.healthRequest)
            let response = try await socket.readResponse()
            #expect(response.hasPrefix("HTTP/1.1 200"), "\(response)")
            #expect(try await socket.readUntilClosed() == "")
        }
    }

    @Test func connectionOverTheCapIsRefused() async throws {
        try await APIHarness.run(.live, configure: { $0.maxConnections = 3 }) { server in
            let port = try #require(server.client.port)
            // The harness's own client holds one connection; two more fill the cap.
            #expect(try await server.get("/healthz", bearer: nil).status == 200)
            var held: [RawSocket] = []
            for _ in 0..<2 {
                let socket = try RawSocket(port: port)
                try socket.send(Self.healthRequest)
                #expect(try await socket.readResponse().hasPrefix("HTTP/1.1 200"))
                held.append(socket)
            }
            let refused = try RawSocket(port: port)
            try refused.send(Self.healthRequest)
            let answer = try #require(try await refused.readUntilClosed())
            #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
            #expect(answer.contains(#"{"error":{"code":"too_many_connections","#), "\(answer)")

            // A freed slot is usable again.
            held.removeFirst().close()
            var served = false
            for _ in 0..<500 where !served {
                let socket = try RawSocket(port: port)
                try socket.send(Self.healthRequest)
                served = try await socket.readResponse().hasPrefix("HTTP/1.1 200")
                if !served { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(served)
        }
    }

    @Test func oversizedHeadGets431() async throws {
        try await APIHarness.run(.live, configure: { $0.maxHeaderBytes = 4096 }) { server in
            let socket = try RawSocket(port: try #require(server.client.port))
            let filler = String(repeating: "a", count: 8192)
            try socket.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Filler: \(filler)\r\n\r\n")
            try Self.expect431(try await socket.readUntilClosed())
        }
    }

    @Test func tooManyHeaderFieldsGet431() async throws {
        try await APIHarness.run(.live, configure: { $0.maxHeaderCount = 20 }) { server in
            let socket = try RawSocket(port: try #require(server.client.port))
            let fields = (0..<30).map { "X-Field-\($0): \($0)\r\n" }.joined()
            try socket.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\(fields)\r\n")
            try Self.expect431(try await socket.readUntilClosed())
        }
    }

    @Test func ordinaryClientIsServedWhileHundredHalfOpenConnectionsWait() async throws {
        try await APIHarness.run(.live) { server in
            let port = try #require(server.client.port)
            var halfOpen: [RawSocket] = []
            for _ in 0..<100 {
                let socket = try RawSocket(port: port)
                try socket.send("POST /v1/apps/demo/messages HTTP/1.1\r\nHost: localhost\r\nContent-")
                halfOpen.append(socket)
            }
            for _ in 0..<3 {
                #expect(try await server.get("/healthz", bearer: nil).status == 200)
                let sent = try await server.post("/v1/apps/demo/messages", json: ["users": ["a"], "payload": "x"])
                #expect(sent.status == 200, "\(sent.text)")
            }
            let fresh = try RawSocket(port: port)
            try fresh.send(Self.healthRequest)
            #expect(try await fresh.readResponse().hasPrefix("HTTP/1.1 200"))
            withExtendedLifetime(halfOpen) {}
        }
    }

    private static func expect431(_ answer: String?, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let answer = try #require(answer, "the connection should close after the answer", sourceLocation: sourceLocation)
        #expect(answer.hasPrefix("HTTP/1.1 431"), "\(answer)", sourceLocation: sourceLocation)
        #expect(answer.lowercased().contains("content-type: application/json"), "\(answer)", sourceLocation: sourceLocation)
        #expect(answer.contains(#"{"error":{"code":"headers_too_large","#), "\(answer)", sourceLocation: sourceLocation)
    }
}
