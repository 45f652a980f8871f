import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

@Suite struct FrameDecoderTests {
    /// Every valid vector back to back, plus frames with larger bodies.
    static func stream() throws -> (bytes: [UInt8], frames: [Frame]) {
        var buffer = ByteBuffer()
        for vector in try ProtocolVectors.load().valid {
            buffer.writeBytes(try Hex.bytes(vector.hex))
        }
        let extra: [Frame] = [
            Frame(
                op: .upstream, seq: 0xFFFF_FFFF, body: ByteBuffer(bytes: [0, 1] + Array(repeating: 0xAB, count: 300))),
            Frame(op: .push, flags: .ackRequired, seq: 7, body: ByteBuffer(bytes: [0, 1, 0, 0, 9])),
            Frame(op: .ping, seq: 0),
        ]
        for frame in extra { buffer.writeFrame(frame) }
        var copy = buffer
        var frames: [Frame] = []
        while let frame = try FrameDecoder().next(from: &copy) { frames.append(frame) }
        guard copy.readableBytes == 0 else { throw ReframeError(frame: Frame(op: .ping, seq: 0)) }
        return (Array(buffer.readableBytesView), frames)
    }

    /// Feeds `chunks` in order, draining every complete frame after each one.
    static func feed(_ chunks: [ArraySlice<UInt8>], decoder: FrameDecoder = FrameDecoder()) throws -> [Frame] {
        var buffer = ByteBuffer()
        var frames: [Frame] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while let frame = try decoder.next(from: &buffer) { frames.append(frame) }
        }
        #expect(buffer.readableBytes == 0)
        return frames
    }

    @Test func severalFramesInOneBuffer() throws {
        let (bytes, frames) = try Self.stream()
        let vectorCount = try ProtocolVectors.load().valid.count
        #expect(frames.count == vectorCount + 3)
        #expect(try Self.feed([bytes[...]]) == frames)
    }

    @Test func oneByteAtATime() throws {
        let (bytes, frames) = try Self.stream()
        #expect(try Self.feed(bytes.indices.map { bytes[$0...$0] }) == frames)
    }

    @Test func everyTwoWaySplit() throws {
        let (bytes, frames) = try Self.stream()
        for split in 0...bytes.count {
            let got = try Self.feed([bytes[..<split], bytes[split...]])
            #expect(got == frames, "split at \(split)")
            if got != frames { break }
        }
    }

    @Test(arguments: try ProtocolVectors.load().valid)
    func truncatedFrameNeedsMore(_ vector: ProtocolVectors.ValidFrame) throws {
        let bytes = try Hex.bytes(vector.hex)
        for count in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes[..<count])
            let before = buffer
            #expect(try FrameDecoder().next(from: &buffer) == nil, "prefix of \(count) bytes")
            #expect(buffer == before, "a prefix must not be consumed")
            #expect(buffer.readerIndex == before.readerIndex)
        }
    }

    @Test func readerIndexNotAtZero() throws {
        var buffer = ByteBuffer(bytes: [0xEE, 0xEE, 0xEE])
        buffer.moveReaderIndex(forwardBy: 3)
        buffer.writeFrame(Frame(op: .ping, seq: 5))
        #expect(try FrameDecoder().next(from: &buffer) == Frame(op: .ping, seq: 5))
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: UInt32(0)..<8)
    func lengthBelowEight(_ length: UInt32) {
        // Rejected as soon as the length field is in, and with the rest of the header too.
        var lengthOnly = ByteBuffer()
        lengthOnly.writeInteger(length)
        #expect(serverDecodeError(lengthOnly)?.code == .badFrame)
        #expect(serverDecodeError(rawFrame(length: length, op: 4))?.code == .badFrame)
    }

    @Test(arguments: [UInt32(65_537), 65_540, 1 << 20, 0x7FFF_FFFF, 0xFFFF_FFFF])
    func lengthAboveDefaultLimit(_ length: UInt32) {
        var lengthOnly = ByteBuffer()
        lengthOnly.writeInteger(length)
        #expect(serverDecodeError(lengthOnly)?.code == .frameTooLarge)
        #expect(serverDecodeError(rawFrame(length: length, op: 4))?.code == .frameTooLarge)
    }

    @Test func lengthAtDefaultLimitIsAccepted() throws {
        let body = [UInt8(0), 1] + Array(repeating: UInt8(0x55), count: Frame.defaultMaximumLength - 8 - 2)
        var buffer = rawFrame(op: Opcode.upstream.rawValue, seq: 3, body: body)
        #expect(buffer.getInteger(at: 0, as: UInt32.self) == 65_536)
        let frame = try #require(try FrameDecoder().next(from: &buffer))
        #expect(frame.length == 65_536)
        #expect(
            try ClientMessage(frame)
                == .upstream(seq: 3, UpstreamBody(session: 1, payload: ByteBuffer(bytes: body[2...]))))
    }

    @Test func customSmallerLimit() throws {
        let decoder = FrameDecoder(maximumLength: 100)
        var atLimit = rawFrame(op: Opcode.upstream.rawValue, body: Array(repeating: 0, count: 92))
        #expect(try decoder.next(from: &atLimit)?.length == 100)
        for length in [UInt32(101), 1000, 65_536, 0xFFFF_FFFF] {
            #expect(serverDecodeError(rawFrame(length: length, op: 4), decoder: decoder)?.code == .frameTooLarge)
            #expect(
                protocolError { () throws(ProtocolError) in try decoder.single(from: rawFrame(length: length, op: 4)) }?
                    .code == .frameTooLarge
            )
        }
        // The smallest legal limit takes only empty bodies.
        let tiny = FrameDecoder(maximumLength: 8)
        var ping = rawFrame(op: 4, seq: 1)
        #expect(try tiny.next(from: &ping) == Frame(op: .ping, seq: 1))
        #expect(serverDecodeError(rawFrame(op: 8, body: [0, 1]), decoder: tiny)?.code == .frameTooLarge)
    }

    @Test(arguments: [UInt8(0), 2, 255])
    func badVersion(_ version: UInt8) {
        var header = ByteBuffer()
        header.writeMultipleIntegers(UInt32(8), version)
        #expect(serverDecodeError(header)?.code == .unsupportedVersion)
        #expect(serverDecodeError(rawFrame(version: version, op: 4))?.code == .unsupportedVersion)
    }

    @Test(arguments: [UInt8(0)] + Array(14...255))
    func unknownOp(_ op: UInt8) {
        var header = ByteBuffer()
        header.writeMultipleIntegers(UInt32(8), UInt8(1), op)
        #expect(serverDecodeError(header)?.code == .unknownOp)
        #expect(serverDecodeError(rawFrame(op: op))?.code == .unknownOp)
        #expect(Opcode(rawValue: op) == nil)
    }

    @Test(arguments: 1..<16)
    func reservedFlagBit(_ bit: Int) {
        let flags = UInt16(1) << UInt16(bit)
        // On every op, alone and beside ACK_REQUIRED; the body has not arrived yet in the first case.
        for op in Opcode.allCases {
            let header = rawFrame(length: 100, op: op.rawValue, flags: flags)
            #expect(serverDecodeError(header)?.code == .badFrame, "\(op) with flags \(flags)")
            #expect(serverDecodeError(rawFrame(op: op.rawValue, flags: flags | 1))?.code == .badFrame)
        }
    }

    @Test(arguments: Opcode.allCases.filter { $0 != .push })
    func ackRequiredOnlyOnPush(_ op: Opcode) {
        #expect(serverDecodeError(rawFrame(length: 100, op: op.rawValue, flags: 1))?.code == .badFrame)
    }

    @Test func ackRequiredOnPushIsAccepted() throws {
        var buffer = rawFrame(op: Opcode.push.rawValue, flags: 1, seq: 9, body: [0, 1, 0, 0])
        let frame = try #require(try FrameDecoder().next(from: &buffer))
        #expect(frame.flags == .ackRequired)
        #expect(
            try ServerMessage(frame)
                == .push(seq: 9, flags: .ackRequired, PushBody(session: 1, kind: .user, payload: ByteBuffer())))
    }

    @Test func badHeaderIsRejectedBeforeItsBody() {
        // Each header announces a 1,000-byte body that never arrives.
        let cases: [(ByteBuffer, ErrorCode)] = [
            (rawFrame(length: 1008, version: 2, op: 1), .unsupportedVersion),
            (rawFrame(length: 1008, op: 99), .unknownOp),
            (rawFrame(length: 1008, op: 1, flags: 0x8000), .badFrame),
            (rawFrame(length: 1008, op: 1, flags: 1), .badFrame),
        ]
        for (header, code) in cases {
            #expect(header.readableBytes == 12)
            #expect(serverDecodeError(header)?.code == code)
        }
        // The length is checked first: with several faults, the length's error wins.
        #expect(serverDecodeError(rawFrame(length: 0xFFFF_FFFF, version: 2, op: 99, flags: 2))?.code == .frameTooLarge)
        #expect(serverDecodeError(rawFrame(length: 3, version: 2, op: 99))?.code == .badFrame)
        #expect(serverDecodeError(rawFrame(version: 2, op: 99, flags: 2))?.code == .unsupportedVersion)
        #expect(serverDecodeError(rawFrame(op: 99, flags: 2))?.code == .unknownOp)
    }

    @Test func validHeaderWaitsForItsBody() throws {
        var buffer = rawFrame(length: 1008, op: Opcode.upstream.rawValue)
        #expect(try FrameDecoder().next(from: &buffer) == nil)
        buffer.writeBytes(Array(repeating: UInt8(1), count: 999))
        #expect(try FrameDecoder().next(from: &buffer) == nil)
        buffer.writeInteger(UInt8(2))
        let frame = try #require(try FrameDecoder().next(from: &buffer))
        #expect(frame.body.readableBytes == 1000)
        #expect(frame.body.getInteger(at: frame.body.readerIndex + 999, as: UInt8.self) == 2)
    }

    @Test func singleFrame() throws {
        let frame = Frame(op: .upstream, seq: 4, body: ByteBuffer(bytes: [0, 2, 3]))
        var buffer = ByteBuffer()
        buffer.writeFrame(frame)
        #expect(try FrameDecoder().single(from: buffer) == frame)

        var twoFrames = buffer
        twoFrames.writeFrame(Frame(op: .ping, seq: 1))
        var extraByte = buffer
        extraByte.writeInteger(UInt8(0))
        let incomplete = buffer.getSlice(at: buffer.readerIndex, length: buffer.readableBytes - 1) ?? ByteBuffer()
        let headerOnly = buffer.getSlice(at: buffer.readerIndex, length: 12) ?? ByteBuffer()
        for bad in [twoFrames, extraByte, incomplete, headerOnly, ByteBuffer(), ByteBuffer(bytes: [0, 0])] {
            #expect(
                protocolError { () throws(ProtocolError) in try FrameDecoder().single(from: bad) }?.code == .badFrame)
        }
        // A bad header inside a single message still gets its own code.
        #expect(
            protocolError { () throws(ProtocolError) in try FrameDecoder().single(from: rawFrame(version: 2, op: 4)) }?
                .code == .unsupportedVersion
        )
    }

    @Test func frameLengthAndHeaderEncoding() {
        var buffer = ByteBuffer()
        let written = buffer.writeFrame(
            Frame(op: .push, flags: .ackRequired, seq: 0x0102_0304, body: ByteBuffer(bytes: [9])))
        #expect(written == 13)
        #expect(Hex.string(buffer) == "00000009" + "01" + "06" + "0001" + "01020304" + "09")
        #expect(Frame(op: .ok, seq: 1).length == 8)
    }
}
