import NIOCore

/// Cuts a stream of bytes from a Redis server into ``RESPToken``s, for a `ByteToMessageHandler`.
public struct RESPTokenDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPToken

    /// The bounds every reply must stay within.
    public let limits: RESPLimits

    /// Creates a decoder that refuses replies beyond `limits`.
    public init(limits: RESPLimits = RESPLimits()) {
        self.limits = limits
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPToken? {
        try RESPToken(consuming: &buffer, limits: self.limits)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPToken? {
        try self.decode(buffer: &buffer)
    }
}
