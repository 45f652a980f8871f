import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

/// Runs every frame of `protocol-vectors.json` through the codec.
@Suite struct ProtocolVectorTests {
    typealias JSON = ProtocolVectors.JSON

    /// Ops whose encoding involves no JSON, so that re-encoding must give the vector's exact bytes.
    static let byteExactOps: Set<Opcode> = [.ping, .pong, .push, .ack, .upstream, .upstreamOK, .ok]

    @Test func vectorsCoverEveryOp() throws {
        let vectors = try ProtocolVectors.load()
        let ops = Set(vectors.valid.map(\.expect.op))
        #expect(ops == Set(Opcode.allCases.map(\.rawValue)))
        #expect(!vectors.invalid.isEmpty)
        #expect(!vectors.tokens.isEmpty)
    }

    @Test(arguments: try ProtocolVectors.load().valid)
    func validFrameDecodes(_ vector: ProtocolVectors.ValidFrame) throws {
        let bytes = try Hex.buffer(vector.hex)
        var buffer = bytes
        let frame = try #require(try FrameDecoder().next(from: &buffer))
        #expect(buffer.readableBytes == 0)
        #expect(try FrameDecoder().single(from: bytes) == frame)

        let expect = vector.expect
        #expect(frame.op.rawValue == expect.op)
        #expect(frame.flags.rawValue == expect.flags)
        #expect(frame.seq == expect.seq)
        if let json = expect.json {
            #expect(try JSON(parsing: frame.body.readableBytesView) == json)
        }
        if let bodyHex = expect.bodyHex {
            #expect(Hex.string(frame.body) == bodyHex)
        }

        let reencoded: Frame
        if frame.op.isClientOp {
            let message = try ClientMessage(frame)
            #expect(message.seq == expect.seq)
            try Self.checkBinaryFields(of: message, against: expect)
            reencoded = message.frame
            #expect(try ClientMessage(reencoded) == message)
        } else {
            #expect(protocolError { () throws(ProtocolError) in try ClientMessage(frame) }?.code == .unknownOp)
            let message = try ServerMessage(frame)
            try Self.checkBinaryFields(of: message, against: expect)
            reencoded = message.frame
            #expect(try ServerMessage(reencoded) == message)
        }

        let (decoded, written) = try reframe(reencoded)
        #expect(decoded.op == frame.op)
        #expect(decoded.flags == frame.flags)
        #expect(decoded.seq == frame.seq)
        if Self.byteExactOps.contains(frame.op) {
            #expect(Hex.string(written) == vector.hex)
        } else {
            // JSON key order may differ: compare the meaning.
            let original = try JSON(parsing: frame.body.readableBytesView)
            #expect(try JSON(parsing: decoded.body.readableBytesView) == original)
            if let json = expect.json {
                #expect(original == json)
            }
        }
    }

    @Test(arguments: try ProtocolVectors.load().invalid)
    func invalidFrameIsRejected(_ vector: ProtocolVectors.InvalidFrame) throws {
        let bytes = try Hex.buffer(vector.hex)
        let error = try #require(serverDecodeError(bytes), "\(vector.name) was accepted")
        #expect(error.code.rawValue == vector.error, "\(error)")

        // The same error when the bytes trickle in one at a time.
        var buffer = ByteBuffer()
        var trickled: ProtocolError?
        for byte in bytes.readableBytesView where trickled == nil {
            buffer.writeInteger(byte)
            trickled = serverDecodeError(buffer)
        }
        #expect(trickled?.code.rawValue == vector.error)
    }

    @Test func authOKVectorFields() throws {
        let vector = try #require(try ProtocolVectors.load().valid.first { $0.expect.op == Opcode.authOK.rawValue })
        let frame = try FrameDecoder().single(from: try Hex.buffer(vector.hex))
        let expected = AuthOK(
            session: 1, app: "demo", user: "alice", device: "default", heartbeat: 30, node: "n1", epoch: "e1",
            recovered: .init(inbox: true, broadcast: true)
        )
        #expect(try ServerMessage(frame) == .authOK(seq: 1, expected))
    }

    @Test func authVectorFields() throws {
        let vector = try #require(try ProtocolVectors.load().valid.first { $0.expect.op == Opcode.auth.rawValue })
        let frame = try FrameDecoder().single(from: try Hex.buffer(vector.hex))
        let expected = AuthRequest(token: "t", resume: .init(epoch: "e1", inbox: 5, broadcast: 2))
        #expect(try ClientMessage(frame) == .auth(seq: 1, expected))
    }

    /// Checks the fields of binary bodies that the vectors list one by one.
    static func checkBinaryFields(of message: ClientMessage, against expect: ProtocolVectors.Expectation) throws {
        switch message {
        case .ack(_, let ack):
            #expect(ack.session == expect.session)
            #expect(ack.kind.rawValue == expect.kind)
        case .upstream(_, let upstream):
            #expect(upstream.session == expect.session)
            #expect(Hex.string(upstream.payload) == expect.payloadHex)
        case .auth, .ping, .subscribe, .unsubscribe:
            break
        }
    }

    static func checkBinaryFields(of message: ServerMessage, against expect: ProtocolVectors.Expectation) throws {
        switch message {
        case .push(let seq, let flags, let push):
            #expect(seq == expect.seq)
            #expect(flags.rawValue == expect.flags)
            #expect(push.session == expect.session)
            #expect(push.kind.rawValue == expect.kind)
            #expect(push.topic == expect.topic)
            #expect(Hex.string(push.payload) == expect.payloadHex)
        case .authOK(let seq, _), .error(let seq, _), .pong(let seq), .upstreamOK(let seq), .ok(let seq):
            #expect(seq == expect.seq)
        case .goaway:
            #expect(expect.seq == 0)
        }
    }
}
