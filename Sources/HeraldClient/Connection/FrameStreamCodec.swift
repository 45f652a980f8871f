import HeraldWire
import NIOCore

/// Splits the TCP byte stream into frames with ``FrameDecoder``.
struct FrameStreamDecoder: ByteToMessageDecoder {
    typealias InboundOut = Frame

    let decoder: FrameDecoder

    init(maximumLength: Int) {
        self.decoder = FrameDecoder(maximumLength: maximumLength)
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try self.decoder.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        // A partial frame at EOF is dropped: the connection is gone anyway.
        return .needMoreData
    }
}

/// Writes frames to the TCP byte stream.
struct FrameStreamEncoder: MessageToByteEncoder {
    typealias OutboundIn = Frame

    func encode(data: Frame, out: inout ByteBuffer) throws {
        out.writeFrame(data)
    }
}
