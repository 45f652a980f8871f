import Foundation
import HeraldCore
import HeraldTesting
import HeraldWire
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import Testing

@testable import HeraldGateway

/// Reads server frames from a byte stream, whatever the chunking.
struct StreamReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var pending = ByteBuffer()

    mutating func fill() async throws {
        guard var chunk = try await self.iterator.next() else { throw ReaderError.closed }
        self.pending.writeBuffer(&chunk)
    }

    /// The next TCP frame.
    mutating func nextMessage() async throws -> ServerMessage {
        while true {
            if let frame = try FrameDecoder().next(from: &self.pending) {
                return try ServerMessage(frame)
            }
            try await self.fill()
        }
    }

    /// Sends AUTH `seq` over TCP and reads the answer: its AUTH_OK, or nil after recording
    /// an issue.
    mutating func authenticate(
        _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        seq: UInt32 = 1,
        token: String = Fixtures.token()
    ) async throws -> AuthOK? {
        try await outbound.write(Fixtures.bytes(.auth(seq: seq, AuthRequest(token: token))))
        guard case .authOK(seq, let ok) = try await self.nextMessage() else {
            Issue.record("no AUTH_OK for AUTH \(seq)")
            return nil
        }
        return ok
    }

    /// Bytes up to and including the end of an HTTP head.
    mutating func httpHead() async throws -> String {
        while true {
            let view = String(decoding: self.pending.readableBytesView, as: UTF8.self)
            if let end = view.range(of: "\r\n\r\n") {
                let headLength = view.utf8.distance(from: view.startIndex, to: end.upperBound)
                return self.pending.readString(length: headLength) ?? ""
            }
            try await self.fill()
        }
    }

    /// The next WebSocket frame from the server (never masked): opcode and payload.
    mutating func nextWebSocketFrame() async throws -> (opcode: UInt8, payload: ByteBuffer) {
        while true {
            if let frame = Self.parseWebSocketFrame(&self.pending) { return frame }
            try await self.fill()
        }
    }

    private static func parseWebSocketFrame(_ buffer: inout ByteBuffer) -> (opcode: UInt8, payload: ByteBuffer)? {
        var copy = buffer
        guard let (first, second) = copy.readMultipleIntegers(as: (UInt8, UInt8).self) else { return nil }
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = copy.readInteger(as: UInt16.self) else { return nil }
            length = Int(extended)
        } else if length == 127 {
            guard let extended = copy.readInteger(as: UInt64.self) else { return nil }
            length = Int(extended)
        }
        guard let payload = copy.readSlice(length: length) else { return nil }
        buffer = copy
        return (first & 0x0F, payload)
    }

    enum ReaderError: Error { case closed }
}

/// A client WebSocket frame (always masked, as RFC 6455 requires of clients).
func maskedWebSocketFrame(opcode: UInt8, payload: ByteBuffer) -> ByteBuffer {
    var frame = ByteBuffer()
    frame.writeInteger(0x80 | opcode)
    let length = payload.readableBytes
    if length < 126 {
        frame.writeInteger(UInt8(0x80 | length))
    } else {
        frame.writeInteger(UInt8(0x80 | 126))
        frame.writeInteger(UInt16(length))
    }
    let mask: [UInt8] = [0x11, 0x22, 0x33, 0x44]
    frame.writeBytes(mask)
    for (index, byte) in payload.readableBytesView.enumerated() {
        frame.writeInteger(byte ^ mask[index % 4])
    }
    return frame
}

@Suite(.timeLimit(.minutes(1))) struct GatewaySocketTests {
    typealias Client = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func withGateway(
        configuration: GatewayConfiguration = GatewayConfiguration(
            host: "127.0.0.1",
            tcpPort: 0,
            webSocketPort: 0,
            nodeID: "n1"
        ),
        directory: (any SessionObserver)? = LocalSessionDirectory(),
        _ body: (Gateway, BoundAddresses) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let gateway = Gateway(
            configuration: configuration,
            eventLoopGroup: group,
            apps: AppRegistry([Fixtures.app]),
            observer: directory,
            replay: LiveOnlyReplay(),
            logger: Logger(label: "gateway-test")
        )
        let running = Task { try await gateway.run() }
        do {
            let addresses = try await gateway.waitUntilBound()
            try await body(gateway, addresses)
        } catch {
            running.cancel()
            _ = try? await running.value
            try? await group.shutdownGracefully()
            throw error
        }
        running.cancel()
        try await running.value
        try await group.shutdownGracefully()
    }

    static func connect(port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws
        -> Client
    {
        try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try Client(wrappingChannelSynchronously: channel)
            }
        }
    }

    @Test func tcpAuthPushAndDrain() async throws {
        try await Self.withGateway { gateway, addresses in
            #expect(addresses.tcpPort > 0)
            let client = try await Self.connect(port: addresses.tcpPort)
            try await client.executeThenClose { inbound, outbound in
                var reader = StreamReader(iterator: inbound.makeAsyncIterator())
                guard let ok = try await reader.authenticate(outbound) else { return }
                #expect(ok.session == 1)
                #expect(ok.node == "n1")
                #expect(gateway.stats.sessions == 1)
                #expect(gateway.stats.connections == 1)

                let reached = await gateway.sendToUsers(
                    app: "demo",
                    users: ["alice"],
                    payload: ByteBuffer(string: "hi")
                )
                #expect(reached == 1)
                #expect(
                    try await reader.nextMessage()
                        == .push(
                            seq: 0,
                            flags: [],
                            PushBody(session: 1, kind: .user, payload: ByteBuffer(string: "hi"))
                        )
                )

                #expect(await gateway.broadcast(app: "demo", seq: 4, payload: ByteBuffer(string: "all")) == 1)
                #expect(
                    try await reader.nextMessage()
                        == .push(
                            seq: 4,
                            flags: [],
                            PushBody(session: 1, kind: .broadcast, payload: ByteBuffer(string: "all"))
                        )
                )
                #expect(await gateway.publish(app: "demo", topic: "news", payload: ByteBuffer()) == 0)
                #expect(await gateway.sendToUsers(app: "demo", users: ["nobody"], payload: ByteBuffer()) == 0)
            }
        }
    }

    @Test func drainSendsGoAwayDraining() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let gateway = Gateway(
            configuration: GatewayConfiguration(
                host: "127.0.0.1",
                tcpPort: 0,
                webSocketPort: 0,
                drainRetryAfterMs: 1234
            ),
            eventLoopGroup: group,
            apps: AppRegistry([Fixtures.app]),
            observer: LocalSessionDirectory(),
            replay: LiveOnlyReplay(),
            logger: Logger(label: "gateway-test")
        )
        let running = Task { try await gateway.run() }
        let addresses = try await gateway.waitUntilBound()
        let client = try await Self.connect(port: addresses.tcpPort)
        try await client.executeThenClose { inbound, outbound in
            var reader = StreamReader(iterator: inbound.makeAsyncIterator())
            guard try await reader.authenticate(outbound) != nil else { return }
            running.cancel()
            #expect(
                try await reader.nextMessage()
                    == .goaway(
                        GoAway(session: 0, reason: .draining, reconnect: true, retryAfterMs: 1234)
                    )
            )
        }
        try await running.value
        #expect(gateway.stats.connections == 0)
        #expect(gateway.stats.sessions == 0)
        try await group.shutdownGracefully()
    }

    @Test func webSocketUpgradeRoundTrip() async throws {
        try await Self.withGateway { gateway, addresses in
            try await Self.withWebSocket(port: addresses.webSocketPort) { reader, outbound in

                let auth = Fixtures.bytes(.auth(seq: 5, AuthRequest(token: Fixtures.token(device: "browser"))))
                try await outbound.write(maskedWebSocketFrame(opcode: 0x2, payload: auth))
                let okFrame = try await reader.nextWebSocketFrame()
                #expect(okFrame.opcode == 0x2)
                guard case .authOK(5, let ok) = try ServerMessage(FrameDecoder().single(from: okFrame.payload)) else {
                    Issue.record("no AUTH_OK")
                    return
                }
                #expect(ok.device == "browser")

                #expect(await gateway.broadcast(app: "demo", seq: 9, payload: ByteBuffer(string: "b")) == 1)
                let push = try await reader.nextWebSocketFrame()
                #expect(
                    try ServerMessage(FrameDecoder().single(from: push.payload))
                        == .push(
                            seq: 9,
                            flags: [],
                            PushBody(session: 1, kind: .broadcast, payload: ByteBuffer(string: "b"))
                        )
                )

                try await outbound.write(maskedWebSocketFrame(opcode: 0x9, payload: ByteBuffer(string: "p")))
                let pong = try await reader.nextWebSocketFrame()
                #expect(pong.opcode == 0xA)
                #expect(pong.payload == ByteBuffer(string: "p"))

                try await outbound.write(maskedWebSocketFrame(opcode: 0x1, payload: ByteBuffer(string: "text")))
                let error = try await reader.nextWebSocketFrame()
                #expect(try ServerMessage(FrameDecoder().single(from: error.payload)).errorCode == .badFrame)
                let close = try await reader.nextWebSocketFrame()
                #expect(close.opcode == 0x8)
            }
        }
    }

    /// Upgrades a connection to `/ws` and runs `body` on it.
    static func withWebSocket(
        port: Int,
        _ body: (inout StreamReader, NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Void
    ) async throws {
        let client = try await Self.connect(port: port)
        try await client.executeThenClose { inbound, outbound in
            var reader = StreamReader(iterator: inbound.makeAsyncIterator())
            let request =
                "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            try await outbound.write(ByteBuffer(string: request))
            let head = try await reader.httpHead()
            #expect(head.hasPrefix("HTTP/1.1 101"))
            // RFC 6455's example key and its answer.
            #expect(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
            try await body(&reader, outbound)
        }
    }

    @Test func webSocketFragmentsAndClose() async throws {
        try await Self.withGateway { _, addresses in
            try await Self.withWebSocket(port: addresses.webSocketPort) { reader, outbound in
                // An AUTH in three fragments, a ping between them.
                var auth = Fixtures.bytes(.auth(seq: 2, AuthRequest(token: Fixtures.token())))
                let first = auth.readSlice(length: 10) ?? ByteBuffer()
                let second = auth.readSlice(length: 10) ?? ByteBuffer()
                var fragments = maskedWebSocketFrame(opcode: 0x2, payload: first)
                fragments.setInteger(UInt8(0x02), at: 0)  // FIN clear
                var ping = maskedWebSocketFrame(opcode: 0x9, payload: ByteBuffer(string: "between"))
                var middle = maskedWebSocketFrame(opcode: 0x0, payload: second)
                middle.setInteger(UInt8(0x00), at: 0)
                var last = maskedWebSocketFrame(opcode: 0x0, payload: auth)
                fragments.writeBuffer(&ping)
                fragments.writeBuffer(&middle)
                fragments.writeBuffer(&last)
                try await outbound.write(fragments)
                let pong = try await reader.nextWebSocketFrame()
                #expect(pong.opcode == 0xA && pong.payload == ByteBuffer(string: "between"))
                let ok = try await reader.nextWebSocketFrame()
                guard case .authOK(2, _) = try ServerMessage(FrameDecoder().single(from: ok.payload)) else {
                    Issue.record("no AUTH_OK")
                    return
                }
                // The client closes with 1001: the server answers with the same code, and reads
                // nothing that follows the close (here a PING, which would get a PONG).
                var code = ByteBuffer()
                code.write(webSocketErrorCode: .goingAway)
                var closing = maskedWebSocketFrame(opcode: 0x8, payload: code)
                var afterClose = maskedWebSocketFrame(opcode: 0x2, payload: Fixtures.bytes(.ping(seq: 9)))
                closing.writeBuffer(&afterClose)
                try await outbound.write(closing)
                var close = try await reader.nextWebSocketFrame()
                #expect(close.opcode == 0x8)
                #expect(close.payload.readWebSocketErrorCode() == .goingAway)
                await #expect(throws: StreamReader.ReaderError.self) { try await reader.fill() }
            }
        }
    }

    @Test(arguments: [
        // Unmasked: a client must mask.
        (ByteBuffer(bytes: [0x82, 0x01, 0x00]), WebSocketErrorCode.protocolError),
        // Reserved bit set: no extension was negotiated.
        (maskedWebSocketFrame(opcode: 0x42, payload: ByteBuffer(bytes: [1])), .protocolError),
        // Over the largest message: refused from the header.
        (ByteBuffer(bytes: [0x82, 0xFF, 0, 0, 0, 0, 0, 0x10, 0, 0]), .messageTooLarge),
    ])
    func webSocketLayerErrorsCloseWithTheirCode(input: ByteBuffer, code: WebSocketErrorCode) async throws {
        try await Self.withGateway { _, addresses in
            try await Self.withWebSocket(port: addresses.webSocketPort) { reader, outbound in
                try await outbound.write(input)
                var close = try await reader.nextWebSocketFrame()
                #expect(close.opcode == 0x8)
                #expect(close.payload.readWebSocketErrorCode() == code)
                await #expect(throws: StreamReader.ReaderError.self) { try await reader.fill() }
            }
        }
    }

    /// The accepted channel's outbound limit is in force: a client that stops reading is
    /// closed once that much is queued, not at NIO's default of 64 KB, and not never.
    @Test func aClientThatStopsReadingIsClosedAtTheOutboundLimit() async throws {
        let small = try await Self.broadcastsUntilClosed(maxOutboundBytes: 128 * 1024)
        let large = try await Self.broadcastsUntilClosed(maxOutboundBytes: 4 * 1024 * 1024)
        // 60 KB each: the larger limit holds about 60 more once the kernel's buffers are full.
        #expect(large - small >= 40, "closed after \(small) and \(large) broadcasts")
    }

    /// Broadcasts 60 KB messages to one client that does not read until the server closes it.
    private static func broadcastsUntilClosed(maxOutboundBytes: Int) async throws -> Int {
        let configuration = GatewayConfiguration(
            host: "127.0.0.1",
            tcpPort: 0,
            webSocketPort: 0,
            nodeID: "n1",
            maxOutboundBytes: maxOutboundBytes
        )
        var sent = 0
        try await Self.withGateway(configuration: configuration) { gateway, addresses in
            let client = try await Self.connect(port: addresses.tcpPort)
            try await client.executeThenClose { inbound, outbound in
                var reader = StreamReader(iterator: inbound.makeAsyncIterator())
                guard try await reader.authenticate(outbound) != nil else { return }
                try await client.channel.setOption(.autoRead, value: false).get()
                let payload = ByteBuffer(repeating: 0x61, count: 60_000)
                while gateway.stats.connections > 0, sent < 1_000 {
                    sent += 1
                    _ = await gateway.broadcast(app: "demo", seq: UInt32(sent), payload: payload)
                    // The API does not wait for the write: wait for the pass that makes it, so
                    // that each broadcast is written before the next is counted.
                    while gateway.stats.fanOutPasses < sent, gateway.stats.connections > 0 {
                        try await Task.sleep(for: .milliseconds(1))
                    }
                }
                #expect(gateway.stats.connections == 0, "still open after \(sent) broadcasts")
            }
        }
        return sent
    }

    @Test func otherPathsGet404() async throws {
        try await Self.withGateway { _, addresses in
            let client = try await Self.connect(port: addresses.webSocketPort)
            try await client.executeThenClose { inbound, outbound in
                var reader = StreamReader(iterator: inbound.makeAsyncIterator())
                try await outbound.write(ByteBuffer(string: "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"))
                let head = try await reader.httpHead()
                #expect(head.hasPrefix("HTTP/1.1 404"))
            }
        }
    }

    /// Listening sockets on `port` (state 0A in /proc/net/tcp and tcp6).
    static func listeners(port: Int) throws -> Int {
        var count = 0
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            // Read to the end: /proc reports a size of 0, and one read gives a page at most.
            guard let handle = FileHandle(forReadingAtPath: file) else { continue }
            defer { try? handle.close() }
            guard let data = try handle.readToEnd() else { continue }
            let table = String(decoding: data, as: UTF8.self)
            for line in table.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 3, let colon = fields[1].lastIndex(of: ":") else { continue }
                if Int(fields[1][fields[1].index(after: colon)...], radix: 16) == port && fields[3] == "0A" {
                    count += 1
                }
            }
        }
        return count
    }

    /// One listener per event loop on each port, and each loop serves connections.
    @Test func eachEventLoopListensForItsOwnConnections() async throws {
        // The clients never AUTH: the default auth timeout (10 s) would close them while a
        // loaded machine is still counting, and the count would never reach 40.
        let configuration = GatewayConfiguration(
            host: "127.0.0.1", tcpPort: 0, webSocketPort: 0, nodeID: "n1", authTimeout: .seconds(300))
        try await Self.withGateway(configuration: configuration) { gateway, addresses in
            #expect(try Self.listeners(port: addresses.tcpPort) == 2)
            #expect(try Self.listeners(port: addresses.webSocketPort) == 2)
            var clients: [Client] = []
            // The clients are closed however the test ends: one dropped unclosed (a failure, the
            // time limit) would stop the whole test process.
            func closeClients() async {
                for client in clients { try? await client.channel.close() }
            }
            do {
                for _ in 0..<40 {
                    clients.append(try await Self.connect(port: addresses.tcpPort))
                }
                // The kernel spreads them by address: both loops get some (all 40 on one loop has a
                // chance of one in 2^39). A loaded machine may take a while to register them.
                var counts: [Int] = []
                let deadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < deadline {
                    counts = await gateway.everyShard { $0.connectionCount }
                    if counts.reduce(0, +) == 40 { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(counts.reduce(0, +) == 40, "\(counts) of 40 connections registered")
                #expect(counts.count == 2 && counts.allSatisfy { $0 > 0 }, "\(counts)")
            } catch {
                await closeClients()
                throw error
            }
            await closeClients()
        }
    }

    /// Ports given in the configuration (checked free first) get one listener per loop too.
    @Test func configuredPortsAreSharedByTheLoops() async throws {
        // Ports below the kernel's ephemeral range (32768 and up here), which the other tests'
        // port-0 binds never get: a port the kernel hands out, released, could be handed to
        // another test's listener before the gateway binds it. Another pair if one is taken.
        for attempt in 1...5 {
            let base = Int.random(in: 20_000..<32_000)
            let ports = (base, base + 1)
            let configuration = GatewayConfiguration(
                host: "127.0.0.1", tcpPort: ports.0, webSocketPort: ports.1, nodeID: "n1")
            var bound = false
            do {
                try await Self.withGateway(configuration: configuration) { _, addresses in
                    bound = true
                    #expect(addresses.tcpPort == ports.0 && addresses.webSocketPort == ports.1)
                    #expect(try Self.listeners(port: ports.0) == 2)
                    #expect(try Self.listeners(port: ports.1) == 2)
                    let client = try await Self.connect(port: ports.0)
                    try await client.channel.close()
                }
                return
            } catch where !bound && attempt < 5 {
                // Taken by something else (the gateway refuses a port in use): another pair.
                continue
            }
        }
    }

    /// A second gateway on `group`, for ports the first may hold.
    static func clash(tcpPort: Int, webSocketPort: Int, group: any EventLoopGroup) -> Gateway {
        Gateway(
            configuration: GatewayConfiguration(host: "127.0.0.1", tcpPort: tcpPort, webSocketPort: webSocketPort),
            eventLoopGroup: group,
            apps: AppRegistry(),
            observer: LocalSessionDirectory(),
            replay: LiveOnlyReplay(),
            logger: Logger(label: "clash")
        )
    }

    /// A port another gateway listens on is refused, however many loops each has: the
    /// listeners share a port only within one gateway.
    @Test func aPortInUseIsRefusedWithSeveralLoops() async throws {
        try await Self.withGateway { _, addresses in
            for (tcp, webSocket) in [(addresses.tcpPort, 0), (0, addresses.webSocketPort)] {
                let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
                let clash = Self.clash(tcpPort: tcp, webSocketPort: webSocket, group: group)
                await #expect(throws: (any Error).self) { try await clash.run() }
                try await group.shutdownGracefully()
            }
            #expect(try Self.listeners(port: addresses.tcpPort) == 2)
            #expect(try Self.listeners(port: addresses.webSocketPort) == 2)
        }
    }

    @Test func bindFailureIsReported() async throws {
        try await Self.withGateway { _, addresses in
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let clash = Self.clash(tcpPort: addresses.tcpPort, webSocketPort: 0, group: group)
            await #expect(throws: (any Error).self) { try await clash.run() }
            await #expect(throws: (any Error).self) { try await clash.waitUntilBound() }
            try await group.shutdownGracefully()
        }
    }
}
