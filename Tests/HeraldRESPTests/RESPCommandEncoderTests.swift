import HeraldRESP
import NIOCore
import Testing

@Suite("commands are written as arrays of bulk strings")
struct RESPCommandEncoderTests {
    @Test("known commands encode to Redis's bytes")
    func knownCommands() {
        let cases: [(RESPCommand, String)] = [
            (RESPCommand("PING"), "*1\r\n$4\r\nPING\r\n"),
            (RESPCommand("GET", "key"), "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"),
            (RESPCommand("SET", "k", "v", "EX", 60), "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nEX\r\n$2\r\n60\r\n"),
            (RESPCommand("INCRBY", "n", -1234), "*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$5\r\n-1234\r\n"),
            (RESPCommand("INCRBY", "n", .integer(.min)), "*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$20\r\n-9223372036854775808\r\n"),
            (RESPCommand("SET", "k", 0), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n0\r\n"),
            (RESPCommand("SET", "é", .bytes(ByteBuffer(bytes: [0, 13, 10]))), "*3\r\n$3\r\nSET\r\n$2\r\né\r\n$3\r\n\0\r\n\r\n"),
            (RESPCommand("ECHO", ""), "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"),
        ]
        var encoder = RESPCommandEncoder()
        for (command, bytes) in cases {
            encoder.reset()
            encoder.encode(command)
            #expect(String(buffer: encoder.buffer) == bytes)
        }
    }

    @Test("a pipeline appends to one buffer, reused after a reset")
    func pipeline() {
        var encoder = RESPCommandEncoder()
        encoder.encode(RESPCommand("INCR", "a"))
        encoder.encode(RESPCommand("INCR", "b"))
        #expect(String(buffer: encoder.buffer) == "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n")
        let capacity = encoder.buffer.capacity
        encoder.reset()
        #expect(encoder.buffer.readableBytes == 0)
        #expect(encoder.buffer.capacity == capacity)
    }

    @Test("an encoded command decodes as the array it is")
    func decodesBack() throws {
        var encoder = RESPCommandEncoder()
        encoder.encode(RESPCommand("HSET", "h", "field", 12))
        var buffer = encoder.buffer
        let token = try #require(try RESPToken(consuming: &buffer))
        #expect(token.elements?.tokens.compactMap(\.string) == ["HSET", "h", "field", "12"])
    }
}
