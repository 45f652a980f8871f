import NIOCore

/// Reads a fuzzer's input as the choices of a structured test: a byte at a time, then the rest.
/// Past the end it answers zeros and empty buffers, so every input is a valid test.
public struct FuzzInput {
    private var buffer: ByteBuffer

    public init(_ buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        self.buffer.readInteger(as: UInt8.self) ?? 0
    }

    /// One of `choices`, picked by the next byte.
    public mutating func pick<T>(_ choices: [T]) -> T {
        choices[Int(self.byte()) % choices.count]
    }

    /// The bytes up to the next `separator` (which is consumed), or all that is left.
    public mutating func bytes(upTo separator: UInt8) -> ByteBuffer {
        let view = self.buffer.readableBytesView
        guard let end = view.firstIndex(of: separator) else { return self.rest() }
        let slice = self.buffer.readSlice(length: end - view.startIndex) ?? ByteBuffer()
        self.buffer.moveReaderIndex(forwardBy: 1)
        return slice
    }

    /// Everything not read yet.
    public mutating func rest() -> ByteBuffer {
        self.buffer.readSlice(length: self.buffer.readableBytes) ?? ByteBuffer()
    }
}
