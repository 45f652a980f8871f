import FuzzDriver
import NIOCore
import NIOWebSocket

/// Reads the input as what a client sends after the WebSocket upgrade (its first byte picks the
/// message limit) through the gateway's frame parser, whole and then a byte at a time: both
/// must read the same events and stop at the same failure. Every message is within the limit
/// and every ping within 125 bytes; what was read, framed again as a client frames it (masked,
/// binary messages in two fragments), reads as the same events.
func fuzzWebSocket(_ buffer: ByteBuffer) {
    var input = FuzzInput(buffer)
    let limit = 1 + Int(input.byte()) * 8
    let mask = [input.byte(), input.byte(), input.byte(), input.byte()]
    let stream = input.rest()
    let whole = WebSocketReading(chunks: [stream], maxMessageSize: limit)
    var pieces: [ByteBuffer] = []
    var rest = stream
    while let byte = rest.readSlice(length: 1) { pieces.append(byte) }
    precondition(
        WebSocketReading(chunks: pieces, maxMessageSize: limit) == whole,
        "frames read differently when they arrive a byte at a time."
    )
    var framed = ByteBuffer()
    for event in whole.events {
        switch event {
        case .binary(let message):
            precondition(
                message.readableBytes <= limit,
                "a message of \(message.readableBytes) bytes passed a limit of \(limit).")
            var first = message
            let head = first.readSlice(length: message.readableBytes / 2) ?? ByteBuffer()
            appendClientFrame(opcode: .binary, fin: false, payload: head, mask: mask, into: &framed)
            appendClientFrame(opcode: .continuation, fin: true, payload: first, mask: mask, into: &framed)
        case .text:
            appendClientFrame(opcode: .text, fin: true, payload: ByteBuffer(), mask: mask, into: &framed)
        case .ping(let payload):
            precondition(payload.readableBytes <= 125, "a ping of \(payload.readableBytes) bytes was read.")
            appendClientFrame(opcode: .ping, fin: true, payload: payload, mask: mask, into: &framed)
        case .pong:
            appendClientFrame(opcode: .pong, fin: true, payload: ByteBuffer(), mask: mask, into: &framed)
        case .close(let code):
            var payload = ByteBuffer()
            if let code { payload.write(webSocketErrorCode: code) }
            appendClientFrame(opcode: .connectionClose, fin: true, payload: payload, mask: mask, into: &framed)
        }
    }
    let again = WebSocketReading(chunks: [framed], maxMessageSize: limit)
    precondition(again.events == whole.events && again.failure == nil, "events framed again read differently.")
}

/// The events a parser reads from `chunks` arriving one after the other, up to a close or a failure.
struct WebSocketReading: Equatable {
    var events: [WebSocketFrameParser.Event] = []
    var failure: WebSocketFrameParser.Failure?

    init(chunks: [ByteBuffer], maxMessageSize: Int) {
        var parser = WebSocketFrameParser(maxMessageSize: maxMessageSize)
        var pending = ByteBuffer()
        for var chunk in chunks {
            pending.writeBuffer(&chunk)
            do {
                while let event = try parser.next(from: &pending) {
                    self.events.append(event)
                    // The gateway reads nothing after a close.
                    if case .close = event { return }
                }
            } catch {
                self.failure = error
                return
            }
        }
    }
}

/// A frame as a client sends it: masked with `mask`, the length in its shortest form.
func appendClientFrame(
    opcode: WebSocketOpcode,
    fin: Bool,
    payload: ByteBuffer,
    mask: [UInt8],
    into buffer: inout ByteBuffer
) {
    buffer.writeInteger(UInt8(webSocketOpcode: opcode) | (fin ? 0x80 : 0))
    let length = payload.readableBytes
    if length < 126 {
        buffer.writeInteger(UInt8(0x80 | length))
    } else if length <= Int(UInt16.max) {
        buffer.writeInteger(UInt8(0x80 | 126))
        buffer.writeInteger(UInt16(length))
    } else {
        buffer.writeInteger(UInt8(0x80 | 127))
        buffer.writeInteger(UInt64(length))
    }
    buffer.writeBytes(mask)
    var masked = payload
    if let key = WebSocketMaskingKey(mask) { masked.webSocketMask(key) }
    buffer.writeBuffer(&masked)
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt { FuzzDriver.test(data, count, fuzzWebSocket) }

@_cdecl("FuzzWebSocket_main")
func fuzzMain(_ argc: CInt, _ argv: FuzzDriver.Arguments) -> CInt { FuzzDriver.main(argc, argv, testOneInput) }
