import HeraldTLS
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// Hummingbird's HTTP/1 child channel with the API's connection cap and an
/// ``APIConnectionGuard`` after the HTTP decoder, behind TLS when the API serves HTTPS.
///
/// Unlike HummingbirdTLS's `TLSChannel`, which keeps one context for the server's life, the
/// context is read from ``ServerTLSContext`` at every accept, so that a reload reaches the
/// next connection.
struct APIChildChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let connections: APIConnectionCounter
    let headTimeout: TimeAmount
    let tls: ServerTLSContext?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admitted = self.connections.admit()
        if admitted {
            let connections = self.connections
            channel.closeFuture.whenComplete { _ in connections.release() }
        }
        let role: APIConnectionGuard.Role = admitted ? .serve(headTimeout: self.headTimeout) : .refuse
        if let tls = self.tls {
            do {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current))
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }
        return self.http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(APIConnectionGuard(role: role), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await self.http1.handle(value: value, logger: logger)
    }
}
