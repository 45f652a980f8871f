import NIOCore
import NIOWebSocket
import Testing

@testable import HeraldGateway

@Suite struct WebSocketFrameParserTests {
    static let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

    /// A client frame: masked unless `masked` is false; `first` is FIN | RSV | opcode.
    static func frame(first: UInt8, _ payload: [UInt8], masked: Bool = true, lengthForm: Int? = nil) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(first)
        let maskBit: UInt8 = masked ? 0x80 : 0
        switch lengthForm ?? (payload.count < 126 ? 7 : (payload.count <= 0xFFFF ? 16 : 64)) {
        case 7:
            buffer.writeInteger(maskBit | UInt8(payload.count))
        case 16:
            buffer.writeInteger(maskBit | 126)
            buffer.writeInteger(UInt16(payload.count))
        default:
            buffer.writeInteger(maskBit | 127)
            buffer.writeInteger(UInt64(payload.count))
        }
        if masked {
            buffer.writeBytes(Self.mask)
            buffer.writeBytes(payload.enumerated().map { $0.element ^ Self.mask[$0.offset % 4] })
        } else {
            buffer.writeBytes(payload)
        }
        return buffer
    }

    static func events(_ input: ByteBuffer, max: Int = 1024) throws(WebSocketFrameParser.Failure)
        -> [WebSocketFrameParser.Event]
    {
        var parser = WebSocketFrameParser(maxMessageSize: max)
        var buffer = input
        var events: [WebSocketFrameParser.Event] = []
        while let event = try parser.next(from: &buffer) { events.append(event) }
        return events
    }

    static func failure(_ input: ByteBuffer, max: Int = 1024) -> WebSocketFrameParser.Failure? {
        do {
            _ = try Self.events(input, max: max)
            return nil
        } catch {
            return error
        }
    }

    @Test func binaryMessagesAreUnmasked() throws {
        var input = Self.frame(first: 0x82, [1, 2, 3, 4, 5])
        var second = Self.frame(first: 0x82, Array(repeating: 9, count: 300))
        input.writeBuffer(&second)
        #expect(
            try Self.events(input) == [
                .binary(ByteBuffer(bytes: [1, 2, 3, 4, 5])), .binary(ByteBuffer(bytes: Array(repeating: 9, count: 300))),
            ]
        )
        // The 64-bit length form is read too.
        #expect(try Self.events(Self.frame(first: 0x82, [7], lengthForm: 64)) == [.binary(ByteBuffer(bytes: [7]))])
    }

    @Test func anIncompleteFrameConsumesNothing() throws {
        let whole = Self.frame(first: 0x82, Array(0..<200))
        for cut in [1, 2, 3, 5, 8, whole.readableBytes - 1] {
            var parser = WebSocketFrameParser(maxMessageSize: 1024)
            var buffer = whole.getSlice(at: 0, length: cut) ?? ByteBuffer()
            #expect(try parser.next(from: &buffer) == nil)
            #expect(buffer.readableBytes == cut)
        }
    }

    @Test func fragmentsAreJoinedWithControlFramesBetween() throws {
        var input = Self.frame(first: 0x02, [1, 2])
        var ping = Self.frame(first: 0x89, [0xAA])
        var middle = Self.frame(first: 0x00, [3])
        var last = Self.frame(first: 0x80, [4, 5])
        input.writeBuffer(&ping)
        input.writeBuffer(&middle)
        input.writeBuffer(&last)
        #expect(try Self.events(input) == [.ping(ByteBuffer(bytes: [0xAA])), .binary(ByteBuffer(bytes: [1, 2, 3, 4, 5]))])
    }

    @Test func controlFrames() throws {
        var input = Self.frame(first: 0x8A, [])
        var close = ByteBuffer()
        close.write(webSocketErrorCode: .goingAway)
        var closeFrame = Self.frame(first: 0x88, Array(close.readableBytesView))
        var bareClose = Self.frame(first: 0x88, [])
        input.writeBuffer(&closeFrame)
        input.writeBuffer(&bareClose)
        #expect(try Self.events(input) == [.pong, .close(.goingAway), .close(nil)])
    }

    @Test func textIsReportedForTheProtocolToRefuse() throws {
        #expect(try Self.events(Self.frame(first: 0x81, Array("hi".utf8))) == [.text])
        #expect(try Self.events(Self.frame(first: 0x01, Array("h".utf8))) == [.text])
    }

    @Test func malformedFramesFailWithProtocolError() {
        let cases: [(String, ByteBuffer)] = [
            ("unmasked", Self.frame(first: 0x82, [1], masked: false)),
            ("reserved bit", Self.frame(first: 0xC2, [1])),
            ("unknown opcode", Self.frame(first: 0x83, [1])),
            ("fragmented ping", Self.frame(first: 0x09, [1])),
            ("long ping", Self.frame(first: 0x89, Array(repeating: 0, count: 126))),
            ("one-byte close", Self.frame(first: 0x88, [3])),
            ("continuation first", Self.frame(first: 0x80, [1])),
            (
                "new message inside a fragmented one",
                {
                    var buffer = Self.frame(first: 0x02, [1])
                    var next = Self.frame(first: 0x82, [2])
                    buffer.writeBuffer(&next)
                    return buffer
                }()
            ),
        ]
        for (name, input) in cases {
            #expect(Self.failure(input)?.code == .protocolError, "\(name)")
        }
    }

    @Test func oversizedMessagesFailBeforeTheyArrive() {
        // Declared too long: refused from the header alone.
        var header = ByteBuffer()
        header.writeInteger(UInt8(0x82))
        header.writeInteger(UInt8(0x80 | 127))
        header.writeInteger(UInt64.max)
        #expect(Self.failure(header, max: 100)?.code == .messageTooLarge)
        #expect(Self.failure(Self.frame(first: 0x82, Array(repeating: 1, count: 101)), max: 100)?.code == .messageTooLarge)
        // Fragments count together.
        var fragments = Self.frame(first: 0x02, Array(repeating: 1, count: 60))
        var rest = Self.frame(first: 0x80, Array(repeating: 1, count: 41))
        fragments.writeBuffer(&rest)
        #expect(Self.failure(fragments, max: 100)?.code == .messageTooLarge)
        #expect(Self.failure(Self.frame(first: 0x82, Array(repeating: 1, count: 100)), max: 100) == nil)
    }
}
