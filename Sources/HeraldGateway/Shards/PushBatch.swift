import HeraldWire
import NIOCore

/// Queued fan-out messages encoded for one session number: all of them in one buffer, which
/// a TCP connection writes at once, and each frame on its own (slices of that buffer) for
/// WebSocket, where every frame is a message, and for a session whose replay is loading.
struct PushBatch {
    /// The frames one after another.
    private(set) var combined: ByteBuffer
    /// Each frame, with what it takes to drop it if a replay already carried it.
    private(set) var frames: [HeldPush]

    init(_ pushes: [FanOutQueue.Push], session: UInt16) {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(
            pushes.reduce(0) {
                $0 + Frame.headerSize + PushBody.fixedSize + PushBody.encodedTopicLength($1.topic)
                    + $1.payload.readableBytes
            }
        )
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(pushes.count)
        for push in pushes {
            let start = buffer.writerIndex
            buffer.writePushFrame(
                seq: push.seq,
                session: session,
                kind: push.kind,
                topic: push.topic,
                payload: push.payload
            )
            ranges.append(start..<buffer.writerIndex)
        }
        self.combined = buffer
        self.frames = zip(pushes, ranges).compactMap { push, range in
            buffer.getSlice(at: range.lowerBound, length: range.count).map {
                HeldPush(frame: $0, kind: push.kind, seq: push.seq)
            }
        }
    }
}
