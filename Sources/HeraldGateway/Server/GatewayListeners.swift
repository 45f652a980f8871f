import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// The listening sockets of one server (TCP or WebSocket): on Linux one per event loop, all
/// on the same address with `SO_REUSEPORT`, each accepting for its own loop.
///
/// With one listener, NIO's `ServerBootstrap` accepts on one loop and hands every other
/// connection to the next loop: three hops between threads for each (set up on the child's
/// loop, back to the accepting loop, registration on the child's loop again). With one
/// listener per loop the kernel spreads new connections over the listeners by their
/// addresses, and each loop accepts and serves its own.
///
/// A port given in the configuration is first bound by a listener without `SO_REUSEPORT`,
/// closed again at once: a port that another process holds, another Herald included, fails
/// the start as it always did instead of quietly sharing its connections. Port 0 needs no
/// such check: the kernel never picks a port that a listener already holds, and the first
/// listener's port is the one the others join.
enum GatewayListeners {
    /// Options every listener gets.
    struct Options: Sendable {
        var host: String
        var port: Int
        var backlog: Int
    }

    /// Binds the listeners of `group`'s loops to `options`' address; `initializer` sets up
    /// each accepted channel on the loop that accepted it. Closes what it bound if one fails.
    static func bind(
        _ options: Options,
        group: any EventLoopGroup,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> [any Channel] {
        #if os(Linux)
            let loops = Array(group.makeIterator())
            guard loops.count > 1 else {
                return [try await Self.listener(options, group: group, shared: false, initializer: initializer)]
            }
            if options.port != 0 {
                let probe = try await Self.listener(options, group: loops[0], shared: false) { $0.close() }
                try await probe.close()
            }
            var listeners: [any Channel] = []
            do {
                var shared = options
                for loop in loops {
                    let listener = try await Self.listener(shared, group: loop, shared: true, initializer: initializer)
                    listeners.append(listener)
                    shared.port = listener.localAddress?.port ?? shared.port
                }
            } catch {
                for listener in listeners {
                    try? await listener.close()
                }
                throw error
            }
            return listeners
        #else
            return [try await Self.listener(options, group: group, shared: false, initializer: initializer)]
        #endif
    }

    /// One listener on `group` (a loop, or all of them) whose connections stay on `group`.
    private static func listener(
        _ options: Options,
        group: any EventLoopGroup,
        shared: Bool,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel {
        guard let bootstrap = ServerBootstrap(validatingGroup: group, childGroup: group) else {
            throw Gateway.StartError("the event loop group is not a NIOPosix group")
        }
        var configured =
            bootstrap
            .serverChannelOption(.backlog, value: Int32(clamping: options.backlog))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Accept up to 64 waiting connections per wake-up (NIO's default is 4): under a
            // connect storm the listen queue then drains in far fewer loop iterations.
            .serverChannelOption(.maxMessagesPerRead, value: 64)
        #if os(Linux)
            // Accepted sockets inherit TCP_NODELAY from the listener on Linux: no setsockopt
            // per connection.
            configured = configured.serverChannelOption(.socketOption(.tcp_nodelay), value: 1)
            if shared {
                configured = configured.serverChannelOption(
                    .socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
            }
        #else
            configured = configured.childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        #endif
        return
            try await configured
            .childChannelInitializer(initializer)
            .bind(host: options.host, port: options.port)
            .get()
    }
}
