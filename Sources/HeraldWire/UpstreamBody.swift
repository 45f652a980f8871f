import NIOCore

/// The body of UPSTREAM: `u16 session`, then the payload bytes for the app's backend.
public struct UpstreamBody: Sendable, Hashable {
    public var session: UInt16
    public var payload: ByteBuffer

    public init(session: UInt16, payload: ByteBuffer) {
        self.session = session
        self.payload = payload
    }

    public init(decoding body: ByteBuffer) throws(ProtocolError) {
        var body = body
        guard let session = body.readInteger(as: UInt16.self) else {
            throw .badFrame("UPSTREAM body is shorter than 2 bytes")
        }
        self.init(session: session, payload: body)
    }

    @discardableResult
    public func write(into buffer: inout ByteBuffer) -> Int {
        buffer.writeInteger(self.session) + buffer.writeImmutableBuffer(self.payload)
    }
}
