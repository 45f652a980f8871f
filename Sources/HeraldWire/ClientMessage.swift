import NIOCore

/// A frame a client sends, with its body parsed.
public enum ClientMessage: Sendable, Hashable {
    case auth(seq: UInt32, AuthRequest)
    case ping(seq: UInt32)
    case ack(seq: UInt32, AckBody)
    case upstream(seq: UInt32, UpstreamBody)
    case subscribe(seq: UInt32, TopicsRequest)
    case unsubscribe(seq: UInt32, TopicsRequest)

    /// The frame's `seq` field.
    public var seq: UInt32 {
        switch self {
        case .auth(let seq, _), .ping(let seq), .ack(let seq, _), .upstream(let seq, _), .subscribe(let seq, _),
            .unsubscribe(let seq, _):
            seq
        }
    }

    /// Parses a frame received by the server. An op that only the server sends is `unknown_op`:
    /// the server does not know it as a request.
    public init(_ frame: Frame) throws(ProtocolError) {
        switch frame.op {
        case .auth:
            self = .auth(seq: frame.seq, try AuthRequest.decode(from: frame.body))
        case .ping:
            guard frame.body.readableBytes == 0 else { throw .badFrame("PING body must be empty") }
            self = .ping(seq: frame.seq)
        case .ack:
            self = .ack(seq: frame.seq, try AckBody(decoding: frame.body))
        case .upstream:
            self = .upstream(seq: frame.seq, try UpstreamBody(decoding: frame.body))
        case .subscribe:
            self = .subscribe(seq: frame.seq, try WireJSON.decode(TopicsRequest.self, from: frame.body, op: .subscribe))
        case .unsubscribe:
            self = .unsubscribe(
                seq: frame.seq,
                try WireJSON.decode(TopicsRequest.self, from: frame.body, op: .unsubscribe)
            )
        case .authOK, .error, .pong, .push, .upstreamOK, .ok, .goaway:
            throw ProtocolError(.unknownOp, "op \(frame.op.rawValue) (\(frame.op)) is sent by servers, not clients")
        }
    }

    /// The frame for this message.
    public var frame: Frame {
        switch self {
        case .auth(let seq, let body):
            Frame(op: .auth, seq: seq, body: ByteBuffer.body { body.writeJSON(into: &$0) })
        case .ping(let seq):
            Frame(op: .ping, seq: seq)
        case .ack(let seq, let ack):
            Frame(op: .ack, seq: seq, body: ByteBuffer.body { ack.write(into: &$0) })
        case .upstream(let seq, let upstream):
            Frame(op: .upstream, seq: seq, body: ByteBuffer.body { upstream.write(into: &$0) })
        case .subscribe(let seq, let body):
            Frame(op: .subscribe, seq: seq, body: WireJSON.body(body))
        case .unsubscribe(let seq, let body):
            Frame(op: .unsubscribe, seq: seq, body: WireJSON.body(body))
        }
    }

    /// Appends the whole frame to `buffer`.
    @discardableResult
    public func write(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .auth(let seq, let body):
            // Every connection sends one: straight into the buffer, no body of its own.
            buffer.writeFrame(op: .auth, seq: seq) { body.writeJSON(into: &$0) }
        default:
            buffer.writeFrame(self.frame)
        }
    }
}
