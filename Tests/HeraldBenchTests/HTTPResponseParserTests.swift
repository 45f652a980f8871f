import NIOCore
import Testing

@testable import HeraldBench

@Suite struct HTTPResponseParserTests {
    @Test func pipelinedResponsesByLength() throws {
        var parser = HTTPResponseParser()
        var buffer = ByteBuffer(
            string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"
                + "HTTP/1.1 429 Too Many Requests\r\ncontent-length:  5 \r\n\r\nslow!"
                + "HTTP/1.1 204 No Content\r\n\r\n"
        )
        let first = try #require(try parser.next(from: &buffer))
        #expect(first == HTTPResponseParser.Response(status: 200, body: ByteBuffer(string: "{}"), close: false))
        let second = try #require(try parser.next(from: &buffer))
        #expect(second.status == 429)
        #expect(String(buffer: second.body) == "slow!")
        let third = try #require(try parser.next(from: &buffer))
        #expect(third.status == 204)
        #expect(third.body.readableBytes == 0)
        #expect(try parser.next(from: &buffer) == nil)
    }

    @Test func bytesArriveOneAtATime() throws {
        let text = "HTTP/1.1 201 Created\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world"
        var parser = HTTPResponseParser()
        var buffer = ByteBuffer()
        var responses: [HTTPResponseParser.Response] = []
        for byte in text.utf8 {
            buffer.writeInteger(byte)
            if let response = try parser.next(from: &buffer) { responses.append(response) }
        }
        #expect(
            responses == [
                HTTPResponseParser.Response(status: 201, body: ByteBuffer(string: "hello world"), close: true)
            ])
    }

    @Test func chunkedBodies() throws {
        let text =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        var parser = HTTPResponseParser()
        var buffer = ByteBuffer()
        var bodies: [String] = []
        for byte in text.utf8 {
            buffer.writeInteger(byte)
            while let response = try parser.next(from: &buffer) { bodies.append(String(buffer: response.body)) }
        }
        #expect(bodies == ["Wikipedia", ""])
    }

    @Test func garbageIsAnError() {
        var parser = HTTPResponseParser()
        var buffer = ByteBuffer(string: "SSH-2.0-OpenSSH\r\n\r\n")
        #expect(throws: HTTPResponseParser.ParseError.self) { _ = try parser.next(from: &buffer) }
        var badLength = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")
        var fresh = HTTPResponseParser()
        #expect(throws: HTTPResponseParser.ParseError.self) { _ = try fresh.next(from: &badLength) }
    }
}
