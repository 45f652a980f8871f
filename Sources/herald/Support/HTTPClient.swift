import HeraldCommandLine
import HeraldTLS
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

import Foundation

/// A few JSON calls to Herald's HTTP API for the command line, over `http://` or `https://`.
///
/// One request per connection (`Connection: close`): a command makes one or two calls.
struct HTTPClient {
    var baseURL: String
    var bearer: String?
    /// PEM certificates trusted for `https://` instead of the system's.
    var caFile: String?

    /// How long one call may take, connecting included.
    static let timeout = TimeAmount.seconds(30)

    /// Sends a request and returns the decoded JSON object, or throws the API's error message.
    func call(
        _ method: String,
        _ path: String,
        body: [String: Any]? = nil,
        headers: [String: String] = [:]
    ) async throws -> Any {
        guard let url = URL(string: self.baseURL + path), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else { throw CLIError("the API URL must be http:// or https://HOST[:PORT], not \(self.baseURL)") }
        let secure = scheme == "https"
        let port = url.port ?? (secure ? 443 : 80)
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: Self.target(of: url))
        head.headers.add(name: "Host", value: url.port.map { "\(Self.bracketed(host)):\($0)" } ?? Self.bracketed(host))
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Accept", value: "application/json")
        if let bearer { head.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        var payload = ByteBuffer()
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            payload.writeBytes(try JSONSerialization.data(withJSONObject: body))
        }
        head.headers.add(name: "Content-Length", value: "\(payload.readableBytes)")

        let response: HTTPResponseCollector.Response
        do {
            let tls = secure ? try self.tlsContext() : nil
            response = try await Self.exchange(head: head, body: payload, host: host, port: port, tls: tls)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("cannot reach the Herald API at \(self.baseURL): \(error)")
        }
        let data = Data(response.body.readableBytesView)
        let status = response.status
        let json = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) ?? [:]
        guard (200..<300).contains(status) else {
            if let error = (json as? [String: Any])?["error"] as? [String: Any],
                let code = error["code"] as? String, let message = error["message"] as? String
            {
                throw CLIError("HTTP \(status) \(code): \(message)")
            }
            throw CLIError("HTTP \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return json
    }

    /// Pretty JSON for printing.
    static func render(_ json: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        else { return "\(json)" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A TLS 1.2+ client context that checks the host name, trusting `caFile` when given.
    private func tlsContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw CLIError("cannot read the CA certificates in \(caFile): it is missing, unreadable, or not PEM")
            }
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// Opens a connection, sends the request, and returns the whole response.
    private static func exchange(
        head: HTTPRequestHead, body: ByteBuffer, host: String, port: Int, tls: NIOSSLContext?
    ) async throws -> HTTPResponseCollector.Response {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let promise = loop.makePromise(of: HTTPResponseCollector.Response.self)
        let describe: @Sendable (any Error) -> any Error = { error in
            tls == nil ? error : Self.describe(error, host: host)
        }
        let serverName = TLSServerName.forHost(host)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(Self.timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        if let tls {
                            try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                        }
                        try pipeline.addHTTPClientHandlers()
                        try pipeline.addHandler(HTTPResponseCollector(promise: promise, describe: describe))
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            promise.fail(error)
            throw error
        }
        let deadline = loop.scheduleTask(in: Self.timeout) {
            promise.fail(CLIError("no answer within \(Self.timeout.nanoseconds / 1_000_000_000) seconds"))
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if body.readableBytes > 0 {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
        }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return try await promise.futureResult.get()
    }

    /// A TLS error in words; others as they are.
    private static func describe(_ error: any Error, host: String) -> any Error {
        switch error {
        case is NIOSSLError, is NIOSSLExtraError: TLSHandshakeFailure(host: host, error: error)
        default: error
        }
    }

    /// The request target: the URL's path and query, escapes kept.
    private static func target(of url: URL) -> String {
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        var target = components?.percentEncodedPath ?? "/"
        if target.isEmpty { target = "/" }
        if let query = components?.percentEncodedQuery { target += "?" + query }
        return target
    }

    private static func bracketed(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }
}
