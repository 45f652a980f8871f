import HeraldBench
import NIOCore
import NIOEmbedded
import Testing

@Suite("Agent protocol: line framing")
struct JSONLineDecoderTests {
    static func channel(limit: Int = 64) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(JSONLineDecoder(limit: limit)))
        return channel
    }

    static func lines(_ channel: EmbeddedChannel) throws -> [String] {
        var lines: [String] = []
        while let line = try channel.readInbound(as: ByteBuffer.self) {
            lines.append(String(buffer: line))
        }
        return lines
    }

    @Test func splitsLinesWhateverTheChunks() throws {
        let channel = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: #"{"a":1}"#))
        #expect(try Self.lines(channel).isEmpty)
        try channel.writeInbound(ByteBuffer(string: "\n{\"b\":2}\r\n{\"c\""))
        #expect(try Self.lines(channel) == [#"{"a":1}"#, #"{"b":2}"#])
        try channel.writeInbound(ByteBuffer(string: ":3}\n\n"))
        #expect(try Self.lines(channel) == [#"{"c":3}"#, ""])
        #expect(try channel.finish().isClean)
    }

    @Test func aLastLineWithoutNewlineCounts() throws {
        let channel = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "one\ntwo"))
        #expect(try Self.lines(channel) == ["one"])
        _ = try channel.finish(acceptAlreadyClosed: true)
        #expect(try Self.lines(channel) == ["two"])
    }

    @Test func overlongLinesAreAnError() throws {
        let channel = try Self.channel(limit: 16)
        #expect(throws: JSONLineDecoder.LineTooLong.self) {
            try channel.writeInbound(ByteBuffer(string: String(repeating: "x", count: 40)))
        }
        let second = try Self.channel(limit: 16)
        #expect(throws: JSONLineDecoder.LineTooLong.self) {
            try second.writeInbound(ByteBuffer(string: String(repeating: "y", count: 20) + "\n"))
        }
        let fits = try Self.channel(limit: 16)
        try fits.writeInbound(ByteBuffer(string: String(repeating: "z", count: 16) + "\n"))
        #expect(try Self.lines(fits) == [String(repeating: "z", count: 16)])
    }
}
