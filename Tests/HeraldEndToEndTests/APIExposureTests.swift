import Foundation
import HeraldTestUtils
import Testing

/// The real binary's HTTP API: on the loopback address unless told otherwise, and closing
/// connections that never finish a request head.
@Suite("HTTP API exposure", .timeLimit(.minutes(1)))
struct APIExposureTests {
    @Test("the API binds 127.0.0.1 while the gateway listens on every interface")
    func apiOnLoopbackByDefault() async throws {
        let server = try await HeraldProcess.start(["--host", "0.0.0.0"])
        #expect(server.ready.tcp.host == "0.0.0.0")
        #expect(server.ready.webSocket.host == "0.0.0.0")
        #expect(server.ready.api.host == "127.0.0.1")
        _ = try await server.terminate()
    }

    @Test("--api-host moves the API")
    func apiHostOption() async throws {
        let server = try await HeraldProcess.start(["--api-host", "0.0.0.0"])
        #expect(server.ready.api.host == "0.0.0.0")
        _ = try await server.terminate()
    }

    @Test("a half-sent request head is closed after --api-head-timeout")
    func halfSentHead() async throws {
        let server = try await HeraldProcess.start(["--api-head-timeout", "0.2"])
        let socket = try RawSocket(port: server.apiPort)
        try socket.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        #expect(try await socket.readUntilClosed() == "")
        // Ordinary requests are served as before.
        let fresh = try RawSocket(port: server.apiPort)
        try fresh.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try await fresh.readResponse().hasPrefix("HTTP/1.1 200"))
        _ = try await server.terminate()
    }
}
