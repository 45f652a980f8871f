import NIOCore

/// A frame the server sends, with its body parsed.
public enum ServerMessage: Sendable, Hashable {
    case authOK(seq: UInt32, AuthOK)
    case error(seq: UInt32, ErrorBody)
    case pong(seq: UInt32)
    case push(seq: UInt32, flags: FrameFlags, PushBody)
    case upstreamOK(seq: UInt32)
    case ok(seq: UInt32)
    case goaway(GoAway)

    /// Parses a frame received by a client. An op that only clients send is `unknown_op`.
    public init(_ frame: Frame) throws(ProtocolError) {
        switch frame.op {
        case .authOK:
            self = .authOK(seq: frame.seq, try WireJSON.decode(AuthOK.self, from: frame.body, op: .authOK))
        case .error:
            self = .error(seq: frame.seq, try WireJSON.decode(ErrorBody.self, from: frame.body, op: .error))
        case .pong:
            try Self.requireEmpty(frame)
            self = .pong(seq: frame.seq)
        case .push:
            self = .push(seq: frame.seq, flags: frame.flags, try PushBody(decoding: frame.body))
        case .upstreamOK:
            try Self.requireEmpty(frame)
            self = .upstreamOK(seq: frame.seq)
        case .ok:
            try Self.requireEmpty(frame)
            self = .ok(seq: frame.seq)
        case .goaway:
            self = .goaway(try WireJSON.decode(GoAway.self, from: frame.body, op: .goaway))
        case .auth, .ping, .ack, .upstream, .subscribe, .unsubscribe:
            throw ProtocolError(.unknownOp, "op \(frame.op.rawValue) (\(frame.op)) is sent by clients, not servers")
        }
    }

    /// The frame for this message.
    public var frame: Frame {
        switch self {
        case .authOK(let seq, let body):
            Frame(op: .authOK, seq: seq, body: ByteBuffer.body { body.writeJSON(into: &$0) })
        case .error(let seq, let body):
            Frame(op: .error, seq: seq, body: WireJSON.body(body))
        case .pong(let seq):
            Frame(op: .pong, seq: seq)
        case .push(let seq, let flags, let push):
            Frame(op: .push, flags: flags, seq: seq, body: Self.pushBody(push))
        case .upstreamOK(let seq):
            Frame(op: .upstreamOK, seq: seq)
        case .ok(let seq):
            Frame(op: .ok, seq: seq)
        case .goaway(let body):
            Frame(op: .goaway, seq: 0, body: WireJSON.body(body))
        }
    }

    /// Appends the whole frame to `buffer`.
    @discardableResult
    public func write(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .authOK(let seq, let body):
            // Every connection gets one: straight into the buffer, no body of its own.
            buffer.writeFrame(op: .authOK, seq: seq) { body.writeJSON(into: &$0) }
        default:
            buffer.writeFrame(self.frame)
        }
    }

    private static func requireEmpty(_ frame: Frame) throws(ProtocolError) {
        guard frame.body.readableBytes == 0 else { throw .badFrame("\(frame.op) body must be empty") }
    }

    private static func pushBody(_ push: PushBody) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(push.encodedLength)
        push.write(into: &buffer)
        return buffer
    }
}

extension ByteBuffer {
    /// Writes a whole PUSH frame in one pass, the way the fan-out path encodes a message once.
    @discardableResult
    public mutating func writePushFrame(
        seq: UInt32, flags: FrameFlags = [], session: UInt16, kind: PushKind, topic: String = "", payload: ByteBuffer
    ) -> Int {
        let bodyLength = PushBody.fixedSize + PushBody.encodedTopicLength(topic) + payload.readableBytes
        return self.writeFrameHeader(op: .push, flags: flags, seq: seq, bodyLength: bodyLength)
            + PushBody.write(session: session, kind: kind, topic: topic, payload: payload, into: &self)
    }
}
