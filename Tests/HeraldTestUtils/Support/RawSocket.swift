import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain TCP connection to the API, for what an HTTP client will not do: send half a
/// request head, sit idle, or send a head over the limits.
public final class RawSocket {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private var descriptor: Int32

    /// Connects to `127.0.0.1:port`.
    public init(port: Int) throws {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw Failure(description: "socket() failed with errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            #if canImport(Glibc)
                _ = Glibc.close(descriptor)
            #else
                _ = Darwin.close(descriptor)
            #endif
            throw Failure(description: "connect() failed with errno \(code)")
        }
        self.descriptor = descriptor
    }

    deinit {
        self.close()
    }

    public func send(_ text: String) throws {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeMutableBytes { buffer in
                #if canImport(Glibc)
                    Glibc.send(self.descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                #else
                    Darwin.send(self.descriptor, buffer.baseAddress! + offset, buffer.count - offset, 0)
                #endif
            }
            guard sent > 0 else { throw Failure(description: "send() failed with errno \(errno)") }
            offset += sent
        }
    }

    /// Everything the server sends until it closes the connection, or nil if it is still open
    /// after `limit` (a bound on the wait, generous enough for a loaded machine).
    public func readUntilClosed(limit: Duration = .seconds(30)) async throws -> String? {
        var received: [UInt8] = []
        let closed = try await self.read(into: &received, limit: limit) { _ in false }
        return closed == true ? String(decoding: received, as: UTF8.self) : nil
    }

    /// One whole response (head and a `content-length` body) on a connection that stays open.
    public func readResponse(limit: Duration = .seconds(30)) async throws -> String {
        var received: [UInt8] = []
        let outcome = try await self.read(into: &received, limit: limit) { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { return false }
            let head = text[..<end.lowerBound].lowercased()
            let length = head.split(separator: "\r\n")
                .first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            return text[end.upperBound...].utf8.count >= length
        }
        guard outcome != nil else {
            throw Failure(description: "no whole response within \(limit); received: \(String(decoding: received, as: UTF8.self))")
        }
        return String(decoding: received, as: UTF8.self)
    }

    public func close() {
        guard self.descriptor >= 0 else { return }
        #if canImport(Glibc)
            _ = Glibc.close(self.descriptor)
        #else
            _ = Darwin.close(self.descriptor)
        #endif
        self.descriptor = -1
    }

    /// Reads without blocking a thread until `done` holds (false), the server closes (true),
    /// or `limit` passes (nil).
    private func read(
        into received: inout [UInt8],
        limit: Duration,
        until done: ([UInt8]) -> Bool
    ) async throws -> Bool? {
        let deadline = ContinuousClock.now + limit
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 0) > 0 {
                let count = chunk.withUnsafeMutableBytes { recv(self.descriptor, $0.baseAddress, $0.count, 0) }
                if count == 0 || (count < 0 && errno == ECONNRESET) { return true }
                guard count > 0 else { throw Failure(description: "recv() failed with errno \(errno)") }
                received.append(contentsOf: chunk[..<count])
                if done(received) { return false }
                continue
            }
            if ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
