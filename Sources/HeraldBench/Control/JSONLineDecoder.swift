import NIOCore

/// Splits a byte stream into lines (without the `\n`; a `\r` before it is dropped too), for
/// the agent protocol's JSON lines.
public struct JSONLineDecoder: ByteToMessageDecoder, Sendable {
    /// A line grew past the limit without a newline.
    public struct LineTooLong: Error, CustomStringConvertible {
        /// The limit.
        public var limit: Int
        public var description: String { "an agent protocol line is longer than \(self.limit) bytes" }
    }

    public typealias InboundOut = ByteBuffer

    /// Longest line accepted.
    public let limit: Int
    /// Bytes already searched for a newline, so a long line is scanned once.
    private var scanned = 0

    /// Creates a decoder accepting lines of at most `limit` bytes.
    public init(limit: Int = AgentWire.maximumLineLength) {
        self.limit = limit
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let line = try self.nextLine(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        if let line = try self.nextLine(&buffer) {
            context.fireChannelRead(Self.wrapInboundOut(line))
            return .continue
        }
        // A last line without a newline still counts.
        if buffer.readableBytes > 0, let line = buffer.readSlice(length: buffer.readableBytes) {
            self.scanned = 0
            context.fireChannelRead(Self.wrapInboundOut(line))
        }
        return .needMoreData
    }

    /// The next complete line in `buffer`, consumed; nil if there is none yet.
    mutating func nextLine(_ buffer: inout ByteBuffer) throws -> ByteBuffer? {
        let view = buffer.readableBytesView
        let start = view.startIndex + min(self.scanned, view.count)
        guard let newline = view[start...].firstIndex(of: UInt8(ascii: "\n")) else {
            self.scanned = view.count
            if view.count > self.limit { throw LineTooLong(limit: self.limit) }
            return nil
        }
        self.scanned = 0
        let length = newline - view.startIndex
        guard length <= self.limit else { throw LineTooLong(limit: self.limit) }
        // Both reads are within the readable bytes just searched.
        guard var line = buffer.readSlice(length: length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") {
            line = line.getSlice(at: line.readerIndex, length: line.readableBytes - 1) ?? line
        }
        return line
    }
}
