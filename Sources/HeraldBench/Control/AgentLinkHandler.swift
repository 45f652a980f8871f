import NIOCore

/// Decodes an agent's lines into ``AgentReply`` values for its ``AgentLink``.
final class AgentLinkHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let link: AgentLink

    init(link: AgentLink) {
        self.link = link
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Self.unwrapInboundIn(data)
        do {
            self.link.received(try AgentWire.decode(AgentReply.self, from: line))
        } catch {
            self.link.closed(reason: "sent an unreadable line: \(error)")
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.link.closed(reason: "connection closed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.link.closed(reason: "\(error)")
        context.close(promise: nil)
    }
}
