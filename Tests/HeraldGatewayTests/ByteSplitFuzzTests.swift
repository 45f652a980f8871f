import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

@testable import HeraldGateway

/// Streams of frames, some corrupted, read whole and cut at random points: every cut must
/// read the same frames and stop at the same error, as a socket may deliver any cut.
@Suite struct ByteSplitFuzzTests {
    enum Read: Equatable {
        case frame(Frame)
        case failed(ErrorCode)
    }

    enum WebSocketRead: Equatable {
        case event(WebSocketFrameParser.Event)
        case failed(WebSocketFrameParser.Failure)
    }

    @Test(arguments: 0..<300)
    func frameDecoderReadsEveryCutAlike(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed))
        var stream = ByteBuffer()
        for seq in 0..<UInt32.random(in: 1...20, using: &random) {
            Self.randomMessage(seq: seq, &random).write(into: &stream)
        }
        Self.corrupt(&stream, &random)
        let whole = Self.frames([stream])
        for _ in 0..<5 {
            #expect(Self.frames(Self.cut(stream, &random)) == whole, "seed \(seed)")
        }
    }

    @Test(arguments: 0..<100)
    func webSocketParserReadsEveryCutAlike(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed))
        var stream = WebSocketFrameParserDifferentialTests.randomStream(&random)
        Self.corrupt(&stream, &random)
        let whole = Self.webSocketEvents([stream])
        for _ in 0..<2 {
            #expect(Self.webSocketEvents(Self.cut(stream, &random)) == whole, "seed \(seed)")
        }
    }

    static func randomMessage(seq: UInt32, _ random: inout SeededRandom) -> ClientMessage {
        let session = UInt16.random(in: 0...9, using: &random)
        let payload = ByteBuffer(bytes: (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return .auth(seq: seq, AuthRequest(token: "token-\(seq)", resume: .init(epoch: "e", inbox: seq)))
        case 1: return .ping(seq: seq)
        case 2: return .ack(seq: seq, AckBody(session: session, kind: .user))
        case 3: return .subscribe(seq: seq, TopicsRequest(session: session, topics: ["news", "sport.\(seq)"]))
        case 4: return .unsubscribe(seq: seq, TopicsRequest(session: session, topics: ["news"]))
        default: return .upstream(seq: seq, UpstreamBody(session: session, payload: payload))
        }
    }

    /// Flips a few bytes, most often none: a clean stream must read whole too.
    static func corrupt(_ stream: inout ByteBuffer, _ random: inout SeededRandom) {
        guard stream.readableBytes > 0 else { return }
        for _ in 0..<[0, 0, 1, 1, 2, 8].randomElement(using: &random)! {
            let index = stream.readerIndex + Int.random(in: 0..<min(stream.readableBytes, 4096), using: &random)
            let byte = stream.getInteger(at: index, as: UInt8.self) ?? 0
            stream.setInteger(byte ^ UInt8.random(in: 1...255, using: &random), at: index)
        }
    }

    /// The stream in pieces of random sizes, from one byte up.
    static func cut(_ stream: ByteBuffer, _ random: inout SeededRandom) -> [ByteBuffer] {
        var stream = stream
        var chunks: [ByteBuffer] = []
        while stream.readableBytes > 0 {
            let size = min(stream.readableBytes, [1, 2, 5, 13, 100, 1000, 4096].randomElement(using: &random)!)
            chunks.append(stream.readSlice(length: size)!)
        }
        return chunks
    }

    /// What the frame decoder reads, fed chunk by chunk; it stops at the first error.
    static func frames(_ chunks: [ByteBuffer]) -> [Read] {
        let decoder = FrameDecoder()
        var pending = ByteBuffer()
        var reads: [Read] = []
        for var chunk in chunks {
            pending.writeBuffer(&chunk)
            do {
                while let frame = try decoder.next(from: &pending) {
                    reads.append(.frame(frame))
                    // A frame that reads must also decode or fail cleanly as a message.
                    _ = try? ClientMessage(frame)
                }
            } catch {
                reads.append(.failed(error.code))
                return reads
            }
        }
        return reads
    }

    /// What the WebSocket parser reads, fed chunk by chunk; it stops at the first failure.
    static func webSocketEvents(_ chunks: [ByteBuffer]) -> [WebSocketRead] {
        var parser = WebSocketFrameParser(maxMessageSize: WebSocketFrameParserDifferentialTests.maxMessageSize)
        var pending = ByteBuffer()
        var reads: [WebSocketRead] = []
        for var chunk in chunks {
            pending.writeBuffer(&chunk)
            do {
                while let event = try parser.next(from: &pending) {
                    reads.append(.event(event))
                }
            } catch {
                reads.append(.failed(error))
                return reads
            }
        }
        return reads
    }
}
