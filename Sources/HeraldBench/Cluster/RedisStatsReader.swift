import NIOCore
import NIOPosix

/// Reads `INFO commandstats` of the cluster's Redis, so that the bench counts the commands
/// that really ran over a part of a run: one short connection per reading (`AUTH` when the URL
/// has a password, then `INFO commandstats`), whose own commands ``RedisCommandStats`` leaves out.
public struct RedisStatsReader: Sendable {
    /// Where the server is.
    public var host: String
    public var port: Int
    /// The user and password of `AUTH`, if the URL has them (no user: the default user).
    var user: String?
    var password: String?

    /// A reader for `redis://[[user]:password@]host[:port]` (port 6379 by default).
    public init(url: String) throws(BenchError) {
        guard url.hasPrefix("redis://") else {
            throw BenchError("the Redis URL must start with redis:// (the bench reads Redis over plain TCP)")
        }
        var rest = Substring(url.dropFirst("redis://".count))
        rest = rest.prefix { $0 != "/" && $0 != "?" }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                self.user = user.isEmpty ? nil : String(user)
                self.password = String(credentials[credentials.index(after: colon)...])
            } else {
                self.password = String(credentials)
            }
        }
        var host = String(rest)
        var port = 6379
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            host = String(rest[..<colon])
            guard let parsed = Int(rest[rest.index(after: colon)...]), (1...65_535).contains(parsed) else {
                throw BenchError("the Redis URL has a bad port")
            }
            port = parsed
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw BenchError("the Redis URL has no host") }
        self.host = host
        self.port = port
    }

    /// The server's command counts now.
    public func read(group: any EventLoopGroup) async throws -> RedisCommandStats {
        var request = ByteBuffer()
        if let password = self.password {
            Self.writeCommand(self.user.map { ["AUTH", $0, password] } ?? ["AUTH", password], into: &request)
        }
        Self.writeCommand(["INFO", "commandstats"], into: &request)
        let expected = self.password == nil ? 1 : 2
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .connect(host: self.host, port: self.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(request)
            var received = ByteBuffer()
            var replies: [Reply] = []
            for try await chunk in inbound {
                received.writeImmutableBuffer(chunk)
                while let reply = try Self.nextReply(&received) { replies.append(reply) }
                if replies.count >= expected { break }
            }
            guard replies.count >= expected else {
                throw BenchError("Redis closed the connection before INFO answered")
            }
            for reply in replies {
                if case .error(let message) = reply { throw BenchError("Redis refused the stats reading: \(message)") }
            }
            guard case .text(let info) = replies[expected - 1] else {
                throw BenchError("Redis answered INFO commandstats with something else than text")
            }
            return RedisCommandStats(info: info)
        }
    }

    /// One RESP reply the reader needs to tell apart.
    enum Reply: Hashable {
        case text(String)
        case error(String)
    }

    /// The next whole reply in `buffer` (consumed), or nil until more bytes arrive. Only the
    /// replies `AUTH` and `INFO` give: simple strings, errors and bulk strings.
    static func nextReply(_ buffer: inout ByteBuffer) throws(BenchError) -> Reply? {
        let view = buffer.readableBytesView
        guard let end = view.firstIndex(of: UInt8(ascii: "\n")), let kind = view.first else { return nil }
        guard end > view.startIndex else { throw BenchError("Redis sent a reply the stats reader does not expect") }
        let line = String(decoding: view[view.index(after: view.startIndex)..<end], as: UTF8.self)
            .trimmingSuffixCharacter("\r")
        switch kind {
        case UInt8(ascii: "+"):
            buffer.moveReaderIndex(forwardBy: end - view.startIndex + 1)
            return .text(line)
        case UInt8(ascii: "-"):
            buffer.moveReaderIndex(forwardBy: end - view.startIndex + 1)
            return .error(line)
        case UInt8(ascii: "$"):
            guard let length = Int(line), length >= 0 else { throw BenchError("Redis sent a bad bulk length") }
            let headerLength = end - view.startIndex + 1
            guard buffer.readableBytes >= headerLength + length + 2 else { return nil }
            buffer.moveReaderIndex(forwardBy: headerLength)
            let text = buffer.readString(length: length) ?? ""
            guard buffer.readString(length: 2) == "\r\n" else {
                throw BenchError("Redis sent a bulk string longer than it said")
            }
            return .text(text)
        default:
            throw BenchError("Redis sent a reply the stats reader does not expect")
        }
    }

    private static func writeCommand(_ parts: [String], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(parts.count)\r\n")
        for part in parts {
            buffer.writeString("$\(part.utf8.count)\r\n")
            buffer.writeString(part)
            buffer.writeString("\r\n")
        }
    }
}

extension String {
    fileprivate func trimmingSuffixCharacter(_ character: Character) -> String {
        self.last == character ? String(self.dropLast()) : self
    }
}
