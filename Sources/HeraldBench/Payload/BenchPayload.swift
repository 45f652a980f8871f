import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The payload of every message the bench sends: a marker, the wall-clock time it was sent
/// (nanoseconds since 1970, `CLOCK_REALTIME`), then padding to the requested size.
///
/// Wall-clock time so that latency can be measured between processes (the API caller and a
/// worker that holds the connection); on several machines their clocks must be in sync.
public enum BenchPayload {
    /// "HBNC": marks a bench payload.
    public static let marker: UInt32 = 0x4842_4E43
    /// Marker and timestamp.
    public static let headerSize = 12

    /// The current wall-clock time in nanoseconds.
    public static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// A payload of `size` bytes (at least ``headerSize``) stamped `sentAt`.
    public static func make(sentAt: UInt64, size: Int = 32) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(max(size, Self.headerSize))
        buffer.writeInteger(Self.marker)
        buffer.writeInteger(sentAt)
        let padding = max(size, Self.headerSize) - Self.headerSize
        buffer.writeRepeatingByte(UInt8(ascii: "."), count: padding)
        return buffer
    }

    /// The send time stamped in a bench payload, or nil if it is not one.
    public static func sentAt(_ payload: ByteBuffer) -> UInt64? {
        guard payload.readableBytes >= Self.headerSize,
            payload.getInteger(at: payload.readerIndex, as: UInt32.self) == Self.marker
        else { return nil }
        return payload.getInteger(at: payload.readerIndex + 4, as: UInt64.self)
    }
}
