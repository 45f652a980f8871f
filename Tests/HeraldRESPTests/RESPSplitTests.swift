import HeraldRESP
import NIOCore
import Testing

@Suite("replies split at every byte decode only once complete")
struct RESPSplitTests {
    static let corpus: [String] = [
        "+OK\r\n",
        "-ERR wrong number of arguments for 'get' command\r\n",
        ":1000\r\n",
        "$12\r\nhello\r\nworld\r\n",
        "$0\r\n\r\n",
        "$-1\r\n",
        "*-1\r\n",
        "*3\r\n$3\r\nfoo\r\n:1\r\n*2\r\n+a\r\n_\r\n",
        "_\r\n",
        "#f\r\n",
        ",-1.5e10\r\n",
        ",-inf\r\n",
        "(-123456789012345678901234567890\r\n",
        "!21\r\nSYNTAX invalid syntax\r\n",
        "=15\r\ntxt:Some string\r\n",
        "%2\r\n+first\r\n:1\r\n+second\r\n%1\r\n:2\r\n,2.5\r\n",
        "~2\r\n+a\r\n+b\r\n",
        ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
        "|1\r\n+ttl\r\n:3600\r\n$5\r\nvalue\r\n",
        "*0\r\n",
        "%0\r\n",
    ]

    @Test("every prefix is incomplete and leaves the buffer untouched; the whole decodes", arguments: Self.corpus)
    func everyBoundary(_ reply: String) throws {
        let bytes = Array(reply.utf8)
        var whole = ByteBuffer(bytes: bytes)
        let expected = try #require(try RESPToken(consuming: &whole))
        for cut in 0..<bytes.count {
            var prefix = ByteBuffer(bytes: bytes[..<cut])
            #expect(try RESPToken(consuming: &prefix) == nil, "a prefix of \(cut) bytes decoded")
            #expect(prefix.readableBytes == cut)
            // The rest arrives: the same token, and nothing left over.
            prefix.writeBytes(bytes[cut...])
            let token = try #require(try RESPToken(consuming: &prefix))
            #expect(token == expected)
            #expect(RESPValue(token) == RESPValue(expected))
            #expect(prefix.readableBytes == 0)
        }
    }

    @Test("back-to-back replies decode one at a time, in order")
    func backToBack() throws {
        var buffer = ByteBuffer(string: Self.corpus.joined())
        var decoded: [RESPToken] = []
        while let token = try RESPToken(consuming: &buffer) {
            decoded.append(token)
        }
        #expect(decoded.count == Self.corpus.count)
        #expect(decoded.map { String(buffer: $0.base) } == Self.corpus)
    }
}
