import HeraldRESP
import NIOCore
import Testing

@Suite("RESP values round-trip through encode and decode")
struct RESPRoundTripTests {
    static let values: [RESPValue] = [
        .simpleString("OK"),
        .simpleString(""),
        .simpleError("ERR unknown command 'FOO'"),
        .bulkString(ByteBuffer(string: "hello")),
        .bulkString(ByteBuffer(bytes: [0, 13, 10, 255])),
        .bulkString(ByteBuffer()),
        .blobError("SYNTAX invalid syntax"),
        .verbatimString(format: "txt", text: "Some string"),
        .integer(0),
        .integer(-42),
        .integer(.max),
        .integer(.min),
        .double(3.25),
        .double(-0.5),
        .double(.infinity),
        .double(-.infinity),
        .double(1e300),
        .boolean(true),
        .boolean(false),
        .null,
        .bigNumber("3492890328409238509324850943850943825024385"),
        .bigNumber("-12"),
        .array([]),
        .array([.integer(1), .bulkString(ByteBuffer(string: "two")), .array([.null, .boolean(true)])]),
        .set([.simpleString("a"), .simpleString("b")]),
        .push([.bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "news")), .bulkString(ByteBuffer(string: "hi"))]),
        .map([.init(.simpleString("first"), .integer(1)), .init(.simpleString("second"), .map([.init(.integer(2), .double(2.5))]))]),
        .attributed([.init(.simpleString("ttl"), .integer(3600))], .bulkString(ByteBuffer(string: "value"))),
        .array([.attributed([.init(.simpleString("key-popularity"), .double(0.1923))], .integer(2039123))]),
    ]

    @Test("every RESP3 type decodes to what was encoded", arguments: Self.values)
    func resp3RoundTrip(_ value: RESPValue) throws {
        var buffer = ByteBuffer()
        value.encode(into: &buffer, version: .resp3)
        let encodedLength = buffer.readableBytes
        let token = try #require(try RESPToken(consuming: &buffer))
        #expect(buffer.readableBytes == 0)
        #expect(token.base.readableBytes == encodedLength)
        #expect(RESPValue(token) == value)
    }

    @Test("RESP2 writes RESP3's types the way Redis does, and they decode")
    func resp2Downgrade() throws {
        let cases: [(RESPValue, String, RESPValue)] = [
            (.null, "$-1\r\n", .null),
            (.boolean(true), ":1\r\n", .integer(1)),
            (.double(2.5), "$3\r\n2.5\r\n", .bulkString(ByteBuffer(string: "2.5"))),
            (.map([.init(.simpleString("a"), .integer(1))]), "*2\r\n+a\r\n:1\r\n", .array([.simpleString("a"), .integer(1)])),
            (.set([.integer(1)]), "*1\r\n:1\r\n", .array([.integer(1)])),
            (.blobError("ERR x"), "-ERR x\r\n", .simpleError("ERR x")),
        ]
        for (value, bytes, decoded) in cases {
            var buffer = ByteBuffer()
            value.encode(into: &buffer, version: .resp2)
            #expect(String(buffer: buffer) == bytes)
            let token = try #require(try RESPToken(consuming: &buffer))
            #expect(RESPValue(token) == decoded)
        }
    }

    @Test("RESP2's null array decodes as null")
    func resp2NullArray() throws {
        var buffer = ByteBuffer(string: "*-1\r\n")
        let token = try #require(try RESPToken(consuming: &buffer))
        #expect(token.isNull)
    }

    @Test("accessors read what their type holds")
    func accessors() throws {
        func token(_ text: String) throws -> RESPToken {
            var buffer = ByteBuffer(string: text)
            return try #require(try RESPToken(consuming: &buffer))
        }
        #expect(try token("+OK\r\n").string == "OK")
        #expect(try token("$5\r\nhello\r\n").string == "hello")
        #expect(try token("=15\r\ntxt:Some string\r\n").string == "Some string")
        #expect(try token(":-7\r\n").integer == -7)
        #expect(try token("$2\r\n12\r\n").integer == 12)
        #expect(try token(",1.5\r\n").double == 1.5)
        #expect(try token(",nan\r\n").double?.isNaN == true)
        #expect(try token("#t\r\n").boolean == true)
        #expect(try token("-ERR nope\r\n").errorMessage == "ERR nope")
        #expect(try token("!5\r\nERR x\r\n").errorMessage == "ERR x")
        #expect(try token("*2\r\n:1\r\n:2\r\n").elements?.tokens.map(\.integer) == [1, 2])
        let map = try #require(try token("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n").map)
        #expect(map["b"]?.integer == 2)
        #expect(try token("*4\r\n+a\r\n:1\r\n+b\r\n:2\r\n").map?["a"]?.integer == 1)
        let attributed = try token("|1\r\n+ttl\r\n:5\r\n:9\r\n")
        #expect(attributed.identifier == .integer)
        #expect(attributed.integer == 9)
        #expect(attributed.attributes?["ttl"]?.integer == 5)
    }
}
