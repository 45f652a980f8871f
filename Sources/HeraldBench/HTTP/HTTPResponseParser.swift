import NIOCore

/// Splits the bytes of an HTTP/1.1 connection into responses: status, body, and whether the
/// server will close. Bodies by `Content-Length` or chunked; no body for 1xx, 204 and 304.
///
/// A value type that the connection handler feeds, so that tests drive it without a socket.
struct HTTPResponseParser: Sendable {
    struct Response: Sendable, Hashable {
        var status: Int
        var body: ByteBuffer
        /// The server said `Connection: close` (or spoke HTTP/1.0 without keep-alive).
        var close: Bool
    }

    struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        var message: String
        var description: String { self.message }
    }

    private enum Framing: Sendable {
        case length(Int)
        case chunked
    }

    private struct Head: Sendable {
        var status: Int
        var framing: Framing
        var close: Bool
    }

    /// Heads longer than this are not from the API.
    static let maximumHeadLength = 64 * 1024
    private static let headTerminator: [UInt8] = Array("\r\n\r\n".utf8)
    private static let lineTerminator: [UInt8] = Array("\r\n".utf8)

    private var head: Head?

    init() {}

    /// Removes and returns the next whole response from `buffer`, or `nil` if it has not all
    /// arrived.
    mutating func next(from buffer: inout ByteBuffer) throws(ParseError) -> Response? {
        if self.head == nil {
            let view = buffer.readableBytesView
            guard let end = view.firstRange(of: Self.headTerminator)?.upperBound else {
                if buffer.readableBytes > Self.maximumHeadLength {
                    throw ParseError(message: "response head longer than \(Self.maximumHeadLength) bytes")
                }
                return nil
            }
            let text = buffer.readString(length: end - view.startIndex) ?? ""
            self.head = try Self.parseHead(text)
        }
        guard let head = self.head else { return nil }
        switch head.framing {
        case .length(let length):
            guard let body = buffer.readSlice(length: length) else { return nil }
            self.head = nil
            return Response(status: head.status, body: body, close: head.close)
        case .chunked:
            guard let body = try Self.readChunked(from: &buffer) else { return nil }
            self.head = nil
            return Response(status: head.status, body: body, close: head.close)
        }
    }

    private static func parseHead(_ text: String) throws(ParseError) -> Head {
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)[...]
        guard let statusLine = lines.popFirst() else { throw ParseError(message: "empty response head") }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...999).contains(status)
        else {
            throw ParseError(message: "bad status line: \(statusLine.prefix(100))")
        }
        var contentLength: Int?
        var chunked = false
        var close = parts[0] == "HTTP/1.0"
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = Self.trimmed(line[line.index(after: colon)...])
            switch name {
            case "content-length":
                guard let length = Int(value), length >= 0 else {
                    throw ParseError(message: "bad Content-Length: \(value)")
                }
                contentLength = length
            case "transfer-encoding":
                chunked = value.lowercased().contains("chunked")
            case "connection":
                let tokens = value.lowercased()
                if tokens.contains("close") { close = true }
                if tokens.contains("keep-alive") { close = false }
            default:
                break
            }
        }
        let framing: Framing
        if status < 200 || status == 204 || status == 304 {
            framing = .length(0)
        } else if chunked {
            framing = .chunked
        } else {
            framing = .length(contentLength ?? 0)
        }
        return Head(status: status, framing: framing, close: close)
    }

    /// Reads a whole chunked body, or nothing if it has not all arrived.
    private static func readChunked(from buffer: inout ByteBuffer) throws(ParseError) -> ByteBuffer? {
        var cursor = buffer
        var body = ByteBuffer()
        while true {
            let view = cursor.readableBytesView
            guard let lineEnd = view.firstRange(of: Self.lineTerminator) else { return nil }
            let line = cursor.readString(length: lineEnd.lowerBound - view.startIndex) ?? ""
            cursor.moveReaderIndex(forwardBy: 2)
            let sizeText = Self.trimmed(line.prefix { $0 != ";" })
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                throw ParseError(message: "bad chunk size: \(line.prefix(40))")
            }
            if size == 0 {
                // Trailers, if any, end with an empty line.
                while true {
                    let rest = cursor.readableBytesView
                    guard let end = rest.firstRange(of: Self.lineTerminator) else { return nil }
                    let empty = end.lowerBound == rest.startIndex
                    cursor.moveReaderIndex(forwardBy: end.upperBound - rest.startIndex)
                    if empty { break }
                }
                buffer = cursor
                return body
            }
            guard var chunk = cursor.readSlice(length: size), cursor.readableBytes >= 2 else { return nil }
            cursor.moveReaderIndex(forwardBy: 2)
            body.writeBuffer(&chunk)
        }
    }

    /// `text` without leading and trailing spaces and tabs.
    private static func trimmed(_ text: Substring) -> String {
        var slice = text
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
