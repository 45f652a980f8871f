import NIOCore

/// NIO's adaptive receive-buffer sizing, in 13 bytes instead of 33.
///
/// A channel keeps its allocator as an existential, which holds up to three words inline:
/// `AdaptiveRecvByteBufferAllocator` does not fit, so every connection kept a 49-byte box
/// of its own (made unique on the first read). This one fits. The sizing follows NIO's:
/// powers of two between `minimum` and `maximum`; a read that fills the buffer doubles the
/// next one; two reads in a row of at most half shrink it by half.
struct CompactRecvByteBufferAllocator: RecvByteBufferAllocator {
    private let minimum: UInt32
    private let maximum: UInt32
    private var next: UInt32
    private var decreaseNow = false

    /// Sizes are rounded to powers of two: `minimum` and `initial` down, `maximum` up.
    init(minimum: Int, initial: Int, maximum: Int) {
        precondition(minimum > 0 && minimum <= initial && initial <= maximum && maximum <= 1 << 30)
        self.minimum = UInt32(minimum).previousPowerOfTwo
        self.maximum = UInt32(maximum).nextPowerOfTwo
        self.next = UInt32(initial).previousPowerOfTwo
    }

    func buffer(allocator: ByteBufferAllocator) -> ByteBuffer {
        allocator.buffer(capacity: Int(self.next))
    }

    func nextBufferSize() -> Int? {
        Int(self.next)
    }

    mutating func record(actualReadBytes: Int) -> Bool {
        let lower = self.next >> 1
        let upper = self.next << 1
        if actualReadBytes <= Int(lower) && lower >= self.minimum {
            if self.decreaseNow {
                self.next = lower
                self.decreaseNow = false
            } else {
                self.decreaseNow = true
            }
            return false
        }
        self.decreaseNow = false
        if actualReadBytes >= Int(self.next) && upper <= self.maximum {
            self.next = upper
            return true
        }
        return false
    }
}

extension UInt32 {
    fileprivate var previousPowerOfTwo: UInt32 {
        self == 0 ? 0 : 1 << (31 - UInt32(self.leadingZeroBitCount))
    }

    fileprivate var nextPowerOfTwo: UInt32 {
        self <= 1 ? 1 : 1 << (32 - UInt32((self - 1).leadingZeroBitCount))
    }
}
