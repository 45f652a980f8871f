import NIOCore
import Testing

@testable import HeraldBench

@Suite struct BenchWebSocketTests {
    @Test func maskedFramesRoundTrip() throws {
        for size in [0, 5, 125, 126, 1_000, 70_000] {
            let payload = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 * 7) })
            var wire = ByteBuffer()
            BenchWebSocket.writeFrame(opcode: .binary, payload: payload, maskKey: 0xA1B2_C3D4, into: &wire)
            #expect(wire.getInteger(at: 0, as: UInt8.self) == 0x82)
            if size >= 4 {
                #expect(wire.readableBytesView.suffix(size) != payload.readableBytesView[...], "the payload is masked")
            }
            let frame = try #require(try BenchWebSocket.nextFrame(from: &wire, maximumPayload: 1 << 20))
            #expect(frame.fin)
            #expect(frame.opcode == BenchWebSocket.Opcode.binary.rawValue)
            #expect(frame.payload == payload)
            #expect(wire.readableBytes == 0)
        }
    }

    @Test func serverFramesAreReadWhenWhole() throws {
        // Unmasked, as a server sends: binary "abc", then a ping.
        var wire = ByteBuffer(bytes: [0x82, 3, 0x61, 0x62, 0x63, 0x89, 0])
        let whole = wire
        for cut in 0..<5 {
            var part = whole.getSlice(at: 0, length: cut) ?? ByteBuffer()
            #expect(try BenchWebSocket.nextFrame(from: &part, maximumPayload: 100) == nil)
        }
        let first = try #require(try BenchWebSocket.nextFrame(from: &wire, maximumPayload: 100))
        #expect(first.payload == ByteBuffer(string: "abc"))
        let second = try #require(try BenchWebSocket.nextFrame(from: &wire, maximumPayload: 100))
        #expect(second.opcode == BenchWebSocket.Opcode.ping.rawValue)
        #expect(second.payload.readableBytes == 0)
    }

    @Test func oversizedFramesAreRejected() {
        var wire = ByteBuffer(bytes: [0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0])
        #expect(throws: (any Error).self) {
            _ = try BenchWebSocket.nextFrame(from: &wire, maximumPayload: 1 << 20)
        }
    }

    @Test func handshake() {
        var partial = ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")
        #expect(BenchWebSocket.readHandshake(from: &partial) == .incomplete)

        var accepted = ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
        accepted.writeBytes([0x82, 0])
        #expect(BenchWebSocket.readHandshake(from: &accepted) == .accepted)
        #expect(accepted.readableBytes == 2, "the frames after the head are left")

        var refused = ByteBuffer(string: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
        #expect(BenchWebSocket.readHandshake(from: &refused) == .refused("HTTP/1.1 503 Service Unavailable"))
    }

    @Test func upgradeRequest() {
        let request = BenchWebSocket.upgradeRequest(
            host: "127.0.0.1", port: 7071, path: "/ws", key: Array(repeating: 1, count: 16))
        let text = String(buffer: request)
        #expect(text.hasPrefix("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:7071\r\n"))
        #expect(text.contains("Sec-WebSocket-Key: AQEBAQEBAQEBAQEBAQEBAQ==\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
    }

    @Test func urls() throws {
        let endpoint = try BenchClientPool.parseWebSocketURL("ws://127.0.0.1:7071/ws")
        #expect(endpoint == BenchLoop.WebSocketEndpoint(host: "127.0.0.1", port: 7071, path: "/ws"))
        #expect(try BenchClientPool.parseWebSocketURL("ws://[::1]:80/").host == "::1")
        #expect(throws: BenchPoolError.self) { try BenchClientPool.parseWebSocketURL("wss://x/ws") }
        #expect(throws: BenchPoolError.self) { try BenchClientPool.parseWebSocketURL("ws://x:0/ws") }
        #expect(try BenchHTTPLoad.parse("http://127.0.0.1:8080") == ("127.0.0.1", 8080))
        #expect(try BenchHTTPLoad.parse("http://localhost/v1") == ("localhost", 80))
        #expect(throws: BenchHTTPError.self) { try BenchHTTPLoad.parse("https://x") }
    }
}
