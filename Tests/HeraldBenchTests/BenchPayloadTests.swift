import HeraldBench
import NIOCore
import Testing

@Suite struct BenchPayloadTests {
    @Test func roundTrip() {
        let stamp = BenchPayload.now()
        let payload = BenchPayload.make(sentAt: stamp, size: 100)
        #expect(payload.readableBytes == 100)
        #expect(BenchPayload.sentAt(payload) == stamp)
        #expect(BenchPayload.make(sentAt: 1, size: 0).readableBytes == BenchPayload.headerSize)
    }

    @Test func foreignPayloadsAreNotStamped() {
        #expect(BenchPayload.sentAt(ByteBuffer(string: "hello, this is not a bench payload")) == nil)
        #expect(BenchPayload.sentAt(ByteBuffer(bytes: [0x48, 0x42])) == nil)
    }
}
