import NIOCore
import Testing

@testable import HeraldGateway

@Suite struct CompactRecvByteBufferAllocatorTests {
    /// Sizes each read like NIO's adaptive allocator, read after read.
    @Test(arguments: [(64, 256, 8192), (16, 1000, 65536), (2, 8, 16), (4096, 4096, 4096)])
    func sizesLikeNIOsAdaptiveAllocator(bounds: (Int, Int, Int)) {
        var compact = CompactRecvByteBufferAllocator(minimum: bounds.0, initial: bounds.1, maximum: bounds.2)
        var adaptive = AdaptiveRecvByteBufferAllocator(minimum: bounds.0, initial: bounds.1, maximum: bounds.2)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            #expect(compact.nextBufferSize() == adaptive.nextBufferSize())
            let size = adaptive.nextBufferSize() ?? 0
            // Mostly full or nearly empty reads, where the sizing changes.
            let read =
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: size
                case 1: Int.random(in: 0...max(size / 2, 1), using: &generator)
                default: Int.random(in: 0...size, using: &generator)
                }
            #expect(compact.record(actualReadBytes: read) == adaptive.record(actualReadBytes: read))
        }
        let allocator = ByteBufferAllocator()
        #expect(
            compact.buffer(allocator: allocator).capacity >= compact.nextBufferSize() ?? 0
        )
    }

    @Test func fitsInAnExistentialWithoutABox() {
        #expect(MemoryLayout<CompactRecvByteBufferAllocator>.size <= 3 * MemoryLayout<Int>.size)
        #expect(MemoryLayout<AdaptiveRecvByteBufferAllocator>.size > 3 * MemoryLayout<Int>.size)
    }
}
