import HeraldWire
import NIOCore
import Testing

@testable import HeraldBench

@Suite struct BenchFrameScannerTests {
    @Test func readsAPushInPlace() {
        var buffer = ByteBuffer()
        let payload = BenchPayload.make(sentAt: 123_456_789, size: 40)
        buffer.writePushFrame(seq: 9, flags: .ackRequired, session: 2, kind: .user, payload: payload)
        let length = buffer.readableBytes
        let result = BenchFrameScanner.scan(buffer, maximumLength: 65_536)
        let expected = BenchFrameScanner.Push(seq: 9, ackRequired: true, session: 2, kind: .user, sentAt: 123_456_789)
        #expect(result == .push(expected, length: length))
        #expect(buffer.readableBytes == length, "scanning does not consume")
    }

    @Test func topicPushesSkipTheTopic() {
        var buffer = ByteBuffer()
        buffer.writePushFrame(seq: 0, session: 1, kind: .topic, topic: "scores", payload: BenchPayload.make(sentAt: 42))
        guard case .push(let push, _) = BenchFrameScanner.scan(buffer, maximumLength: 65_536) else {
            Issue.record("not a push")
            return
        }
        #expect(push.kind == .topic)
        #expect(push.sentAt == 42)
        #expect(!push.ackRequired)
    }

    @Test func foreignPayloadsHaveNoStamp() {
        var buffer = ByteBuffer()
        buffer.writePushFrame(seq: 0, session: 1, kind: .broadcast, payload: ByteBuffer(string: "hello"))
        guard case .push(let push, _) = BenchFrameScanner.scan(buffer, maximumLength: 65_536) else {
            Issue.record("not a push")
            return
        }
        #expect(push.sentAt == nil)
        #expect(push.kind == .broadcast)
    }

    @Test func partialFramesAreIncomplete() {
        var whole = ByteBuffer()
        whole.writePushFrame(seq: 1, session: 1, kind: .user, payload: BenchPayload.make(sentAt: 1))
        for cut in [0, 3, 4, 11, 12, whole.readableBytes - 1] {
            let part = whole.getSlice(at: 0, length: cut) ?? ByteBuffer()
            #expect(BenchFrameScanner.scan(part, maximumLength: 65_536) == .incomplete, "cut at \(cut)")
        }
    }

    @Test func otherOpsAreLeftToTheDecoder() {
        var buffer = ByteBuffer()
        ServerMessage.pong(seq: 3).write(into: &buffer)
        #expect(BenchFrameScanner.scan(buffer, maximumLength: 65_536) == .other(length: Frame.headerSize))
    }

    @Test func rejectsBadFrames() {
        func scan(_ bytes: [UInt8]) -> BenchFrameScanner.Result {
            BenchFrameScanner.scan(ByteBuffer(bytes: bytes), maximumLength: 1_024)
        }
        func code(_ result: BenchFrameScanner.Result) -> ErrorCode? {
            if case .invalid(let error) = result { return error.code }
            return nil
        }
        #expect(code(scan([0, 0, 0, 7])) == .badFrame)
        #expect(code(scan([0, 0, 0x10, 0])) == .frameTooLarge)
        #expect(code(scan([0, 0, 0, 8, 2, 5, 0, 0, 0, 0, 0, 0])) == .unsupportedVersion)
        // PUSH with a reserved flag bit.
        #expect(code(scan([0, 0, 0, 12, 1, 6, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0])) == .badFrame)
        // PUSH body too short, unknown kind, topic longer than the body.
        #expect(code(scan([0, 0, 0, 10, 1, 6, 0, 0, 0, 0, 0, 0, 0, 1])) == .badFrame)
        #expect(code(scan([0, 0, 0, 12, 1, 6, 0, 0, 0, 0, 0, 0, 0, 1, 7, 0])) == .badFrame)
        #expect(code(scan([0, 0, 0, 12, 1, 6, 0, 0, 0, 0, 0, 0, 0, 1, 2, 9])) == .badFrame)
    }

    @Test func twoFramesBackToBack() {
        var buffer = ByteBuffer()
        buffer.writePushFrame(seq: 1, session: 1, kind: .user, payload: BenchPayload.make(sentAt: 5))
        ServerMessage.pong(seq: 1).write(into: &buffer)
        guard case .push(_, let length) = BenchFrameScanner.scan(buffer, maximumLength: 65_536) else {
            Issue.record("not a push")
            return
        }
        buffer.moveReaderIndex(forwardBy: length)
        #expect(BenchFrameScanner.scan(buffer, maximumLength: 65_536) == .other(length: 12))
    }
}
