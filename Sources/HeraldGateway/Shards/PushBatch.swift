import HeraldWire
import NIOCore

/// Queued fan-out messages encoded for one session number: all of them in one buffer, which
/// a TCP connection writes at once; the same framed as WebSocket binary messages, one per
/// frame, made when the first WebSocket connection needs it and then written as it is by
/// every other; and each frame on its own (slices of the first buffer) for a session whose
/// replay is loading.
///
/// A class so that the WebSocket framing, made once, is shared by every connection of the
/// pass; it never leaves its event loop.
final class PushBatch {
    /// The frames one after another.
    let combined: ByteBuffer
    /// Each frame, with what it takes to drop it if a replay already carried it.
    let frames: [HeldPush]
    /// The lowest and highest broadcast sequence in the batch (0 and 0 without broadcasts):
    /// a session that already has a broadcast at or above the lowest must not get the batch
    /// whole (see ``ConnectionStateMachine/liveBatch(_:session:)``).
    let lowestBroadcast: UInt32
    let highestBroadcast: UInt32

    /// The frames as WebSocket binary messages, one after another.
    private(set) lazy var webSocketFramed: ByteBuffer = {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(
            self.frames.reduce(0) {
                $0 + WebSocketServerFrame.headerSize(payloadLength: $1.frame.readableBytes) + $1.frame.readableBytes
            }
        )
        for push in self.frames {
            var frame = push.frame
            WebSocketServerFrame.writeHeader(
                opcode: WebSocketServerFrame.binary,
                payloadLength: frame.readableBytes,
                into: &buffer
            )
            buffer.writeBuffer(&frame)
        }
        return buffer
    }()

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
        let broadcasts = pushes.lazy.filter { $0.kind == .broadcast }.map(\.seq)
        self.lowestBroadcast = broadcasts.min() ?? 0
        self.highestBroadcast = broadcasts.max() ?? 0
        self.frames = zip(pushes, ranges).compactMap { push, range in
            buffer.getSlice(at: range.lowerBound, length: range.count).map {
                HeldPush(frame: $0, kind: push.kind, seq: push.seq)
            }
        }
    }
}
