import NIOCore

/// The bytes of an incomplete frame, kept from one read to the next (the TCP stream's
/// frames and the WebSocket layer's both).
struct PartialInput {
    private var pending: ByteBuffer?

    /// `incoming` behind what was kept; nothing is kept afterwards. The kept buffer is let
    /// go of first, so that appending to it does not copy its storage.
    mutating func joined(with incoming: ByteBuffer) -> ByteBuffer {
        guard var pending = self.pending else { return incoming }
        self.pending = nil
        var incoming = incoming
        pending.writeBuffer(&incoming)
        return pending
    }

    /// Keeps the unread bytes of `buffer` for the next read. A short tail of a large receive
    /// buffer is copied out, so that an idle connection does not hold the whole buffer.
    mutating func keep(_ buffer: ByteBuffer, allocator: ByteBufferAllocator) {
        guard buffer.readableBytes > 0 else { return }
        if buffer.capacity > 2 * buffer.readableBytes + 64 {
            var buffer = buffer
            var compact = allocator.buffer(capacity: buffer.readableBytes)
            compact.writeBuffer(&buffer)
            self.pending = compact
        } else {
            self.pending = buffer
        }
    }

    mutating func clear() {
        self.pending = nil
    }
}
