import HeraldWire
import NIOCore

/// Runs `body` and returns the protocol error it threw, or `nil` if it returned.
func protocolError<T>(_ body: () throws(ProtocolError) -> T) -> ProtocolError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// Raw frame bytes with every header field under the test's control.
func rawFrame(
    length: UInt32? = nil, version: UInt8 = 1, op: UInt8, flags: UInt16 = 0, seq: UInt32 = 0, body: [UInt8] = []
) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeMultipleIntegers(length ?? UInt32(8 + body.count), version, op, flags, seq)
    buffer.writeBytes(body)
    return buffer
}

/// Decodes `bytes` the way the server does: one frame from the stream, then the client message.
/// Returns the error, or `nil` if the bytes decoded or more bytes are needed.
func serverDecodeError(_ bytes: ByteBuffer, decoder: FrameDecoder = FrameDecoder()) -> ProtocolError? {
    var buffer = bytes
    return protocolError { () throws(ProtocolError) in
        if let frame = try decoder.next(from: &buffer) {
            _ = try ClientMessage(frame)
        }
    }
}

/// The error ClientMessage gives for a frame of `op` with `body`.
func clientError(_ op: Opcode, _ body: [UInt8], seq: UInt32 = 1) -> ErrorCode? {
    protocolError { () throws(ProtocolError) in
        try ClientMessage(Frame(op: op, seq: seq, body: ByteBuffer(bytes: body)))
    }?
    .code
}

/// The error ClientMessage gives for a frame of `op` with a text body.
func clientError(_ op: Opcode, _ body: String, seq: UInt32 = 1) -> ErrorCode? {
    clientError(op, Array(body.utf8), seq: seq)
}

/// The error ServerMessage gives for a frame of `op` with `body`.
func serverError(_ op: Opcode, _ body: [UInt8], flags: FrameFlags = [], seq: UInt32 = 1) -> ErrorCode? {
    protocolError { () throws(ProtocolError) in
        try ServerMessage(Frame(op: op, flags: flags, seq: seq, body: ByteBuffer(bytes: body)))
    }?.code
}

/// Encodes `frame`, decodes it back with a FrameDecoder, and checks nothing is left over.
func reframe(_ frame: Frame) throws -> (Frame, ByteBuffer) {
    var buffer = ByteBuffer()
    let written = buffer.writeFrame(frame)
    let bytes = buffer
    guard written == 4 + frame.length, let decoded = try FrameDecoder().next(from: &buffer), buffer.readableBytes == 0
    else {
        throw ReframeError(frame: frame)
    }
    return (decoded, bytes)
}

struct ReframeError: Error {
    var frame: Frame
}
