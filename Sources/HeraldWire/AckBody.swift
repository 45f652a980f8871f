import NIOCore

/// The body of ACK: `u16 session`, `u8 kind`. The frame's `seq` is the highest sequence acknowledged.
public struct AckBody: Sendable, Hashable {
    public static let size = 3

    public var session: UInt16
    public var kind: PushKind

    public init(session: UInt16, kind: PushKind) {
        self.session = session
        self.kind = kind
    }

    public init(decoding body: ByteBuffer) throws(ProtocolError) {
        guard body.readableBytes == Self.size,
            let (session, rawKind) = body.getMultipleIntegers(at: body.readerIndex, as: (UInt16, UInt8).self)
        else {
            throw .badFrame("ACK body must be exactly 3 bytes")
        }
        guard let kind = PushKind(rawValue: rawKind) else {
            throw .badFrame("ACK kind \(rawKind) is unknown")
        }
        self.init(session: session, kind: kind)
    }

    @discardableResult
    public func write(into buffer: inout ByteBuffer) -> Int {
        buffer.writeMultipleIntegers(self.session, self.kind.rawValue)
    }
}
