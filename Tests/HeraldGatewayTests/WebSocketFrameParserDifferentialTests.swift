import HeraldTestUtils
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import HeraldGateway

/// Random valid client streams (binary messages in random fragments, pings and pongs between
/// them, every length form, cut into random chunks) read by our parser and by NIOWebSocket's
/// decoder and aggregator: both must see the same messages and pings, in the same order.
@Suite struct WebSocketFrameParserDifferentialTests {
    enum Seen: Equatable {
        case binary([UInt8])
        case ping([UInt8])
        case pong
    }

    static let maxMessageSize = 70_000

    @Test(arguments: 0..<40)
    func sameAsNIO(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed))
        let stream = Self.randomStream(&random)
        let chunks = Self.cut(stream, &random)
        #expect(try Self.ours(chunks) == (try Self.nio(chunks)), "seed \(seed)")
    }

    /// Frames as a client sends them, and the messages they carry.
    static func randomStream(_ random: inout SeededRandom) -> ByteBuffer {
        var stream = ByteBuffer()
        for _ in 0..<Int.random(in: 1...12, using: &random) {
            let size = [0, 1, 125, 126, 127, 300, 65_535, 65_536, 69_000].randomElement(using: &random) ?? 0
            let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
            var rest = payload[...]
            var first = true
            repeat {
                let take = rest.isEmpty ? 0 : Int.random(in: 1...rest.count, using: &random)
                let piece = rest.prefix(take)
                rest = rest.dropFirst(take)
                let fin = rest.isEmpty
                Self.writeFrame(fin: fin, opcode: first ? 0x2 : 0x0, Array(piece), into: &stream, &random)
                first = false
                if Bool.random(using: &random) {
                    let control = (0..<Int.random(in: 0...125, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                    Self.writeFrame(fin: true, opcode: Bool.random(using: &random) ? 0x9 : 0xA, control, into: &stream, &random)
                }
            } while !rest.isEmpty
        }
        return stream
    }

    static func writeFrame(fin: Bool, opcode: UInt8, _ payload: [UInt8], into buffer: inout ByteBuffer, _ random: inout SeededRandom) {
        buffer.writeInteger((fin ? 0x80 : 0) | opcode)
        if payload.count < 126 {
            buffer.writeInteger(UInt8(0x80 | payload.count))
        } else if payload.count <= 0xFFFF {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(payload.count))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(payload.count))
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255, using: &random) }
        buffer.writeBytes(mask)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
    }

    /// The stream in pieces of random sizes, as reads would deliver it.
    static func cut(_ stream: ByteBuffer, _ random: inout SeededRandom) -> [ByteBuffer] {
        var stream = stream
        var chunks: [ByteBuffer] = []
        while stream.readableBytes > 0 {
            let size = min(stream.readableBytes, [1, 2, 7, 64, 256, 4096, 70_000].randomElement(using: &random) ?? 1)
            if let chunk = stream.readSlice(length: size) { chunks.append(chunk) }
        }
        return chunks
    }

    /// What our parser reports, fed chunk by chunk as the codec feeds it.
    static func ours(_ chunks: [ByteBuffer]) throws -> [Seen] {
        var parser = WebSocketFrameParser(maxMessageSize: Self.maxMessageSize)
        var pending = ByteBuffer()
        var seen: [Seen] = []
        for var chunk in chunks {
            pending.writeBuffer(&chunk)
            while let event = try parser.next(from: &pending) {
                switch event {
                case .binary(let message): seen.append(.binary(Array(message.readableBytesView)))
                case .ping(let payload): seen.append(.ping(Array(payload.readableBytesView)))
                case .pong: seen.append(.pong)
                case .text, .close: Issue.record("unexpected \(event)")
                }
            }
        }
        #expect(pending.readableBytes == 0)
        return seen
    }

    /// What NIOWebSocket's decoder and aggregator report for the same chunks.
    static func nio(_ chunks: [ByteBuffer]) throws -> [Seen] {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: Self.maxMessageSize))
        )
        try channel.pipeline.syncOperations.addHandler(
            NIOWebSocketFrameAggregator(
                minNonFinalFragmentSize: 0,
                maxAccumulatedFrameCount: 100_000,
                maxAccumulatedFrameSize: Self.maxMessageSize
            )
        )
        var seen: [Seen] = []
        for chunk in chunks {
            try channel.writeInbound(chunk)
            while let frame = try channel.readInbound(as: WebSocketFrame.self) {
                let data = Array(frame.unmaskedData.readableBytesView)
                switch frame.opcode {
                case .binary: seen.append(.binary(data))
                case .ping: seen.append(.ping(data))
                case .pong: seen.append(.pong)
                default: Issue.record("unexpected opcode \(frame.opcode)")
                }
            }
        }
        _ = try channel.finish()
        return seen
    }
}
