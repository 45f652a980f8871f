import ArgumentParser
import HeraldClient
import HeraldCommandLine
import HeraldWire
import Logging
import NIOCore

import Foundation

/// `herald listen`: connect as a client with the SDK and print what arrives.
struct Listen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Connect as a user's device and print every push that arrives."
    )

    @OptionGroup var credentials: AppCredentials

    @Option(help: "User id to connect as.")
    var user: String

    @Option(help: "Device id (default: \"default\").")
    var device: String?

    @Option(help: "Topic to subscribe to (repeatable).")
    var topic: [String] = []

    @Option(help: "Client TCP address host:port, or tls://host:port for TLS [HERALD_TCP, default 127.0.0.1:7070].")
    var tcp: String?

    @Option(help: "Connect over WebSocket to this URL instead, e.g. ws://127.0.0.1:7071/ws or wss://HOST:7071/ws.")
    var ws: String?

    @OptionGroup var tls: CAFileOption

    @Option(help: "A token to use instead of signing one with the secret.")
    var token: String?

    func run() async throws {
        let transport: HeraldClientConfiguration.Transport
        if let ws {
            guard let parsed = HeraldClientConfiguration.Transport(endpoint: ws), case .webSocket = parsed else {
                throw CLIError("--ws must be a ws:// or wss:// URL, not \(ws)")
            }
            transport = parsed
        } else {
            let address = self.tcp ?? Environment.string("HERALD_TCP") ?? "127.0.0.1:7070"
            guard let parsed = HeraldClientConfiguration.Transport(endpoint: address), !Self.isWebSocket(parsed) else {
                throw CLIError("--tcp must be host:port or tls://host:port, not \(address)")
            }
            transport = parsed
        }
        let token: String
        if let given = self.token {
            token = given
        } else {
            let (app, secret) = try self.credentials.resolved()
            token = Token.make(app: app, secret: secret, user: self.user, device: self.device, ttl: 86_400, topics: [])
        }
        var logger = Logger(label: "herald.listen")
        logger.logLevel = .warning
        let client = HeraldClient(
            configuration: HeraldClientConfiguration(
                transport: transport, token: token, topics: self.topic,
                tls: HeraldClientTLS(trustRoots: self.tls.path.map { .pemFile($0) } ?? .system)
            ),
            logger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            for await event in client.events {
                Self.print(event)
            }
            try await group.waitForAll()
        }
    }

    private static func isWebSocket(_ transport: HeraldClientConfiguration.Transport) -> Bool {
        if case .webSocket = transport { return true }
        return false
    }

    private static func print(_ event: HeraldClientEvent) {
        switch event {
        case .connected(let session):
            Swift.print("connected session=\(session.id) user=\(session.user) device=\(session.device) node=\(session.node)")
        case .push(let push):
            let text = String(validating: push.payload.readableBytesView, as: UTF8.self)
                ?? "base64:" + Data(push.payload.readableBytesView).base64EncodedString()
            let topic = push.topic.isEmpty ? "" : " topic=\(push.topic)"
            Swift.print("push kind=\(push.kind) seq=\(push.seq)\(topic) \(text)")
        case .goaway(let goaway):
            Swift.print("goaway reason=\(goaway.reason) reconnect=\(goaway.reconnect)")
        case .disconnected(let disconnect):
            if case .connectFailed(let reason) = disconnect.reason {
                Swift.print("cannot connect: \(reason)")
            } else {
                Swift.print("disconnected: \(disconnect)")
            }
        case .subscriptionFailed(let topics, let error):
            Swift.print("subscribe \(topics.joined(separator: ", ")) failed: \(error.code) \(error.message)")
        }
        fflush(nil)
    }
}
