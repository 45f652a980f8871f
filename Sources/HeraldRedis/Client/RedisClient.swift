import HeraldRESP
import Logging
import NIOCore
import NIOPosix

/// A small pool of connections to one Redis server, shared by every task of the process.
///
/// Connections are made when first needed and commands are spread over them in turn, each
/// connection pipelining whatever is sent on it. A connection found dead (closed by the
/// server, a timeout, a malformed reply) is replaced; connecting retries with exponential
/// backoff and jitter (``RedisBackoff``) before a command fails with `connectFailed`.
/// Commands are never retried: one that was sent when its connection died fails.
public actor RedisClient {
    private enum Slot {
        case empty
        case connecting(id: Int, Task<RedisConnection, any Error>)
        case connected(RedisConnection)
    }

    /// The server and the client's settings.
    public nonisolated let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private var slots: [Slot]
    private var nextSlot = 0
    private var nextTaskID = 0
    private var isClosed = false

    /// Creates a client; nothing connects until the first command.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.redis")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.slots = Array(repeating: .empty, count: max(configuration.poolSize, 1))
    }

    /// Creates a client for `redis://[user:password@]host[:port][/database]`.
    public init(
        url: String,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.redis")
    ) throws(RedisClientError) {
        self.init(configuration: try RedisConfiguration(url: url), eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Sends one command and returns its reply.
    ///
    /// - Throws: ``RedisClientError``: `commandError` when Redis answers with an error,
    ///   `timeout`, `connectionClosed`, `connectFailed`, `authenticationFailed`, `clientClosed`.
    public func send(_ command: RESPCommand) async throws -> RESPToken {
        try await self.connection().send(command)
    }

    /// Sends the commands together on one connection and returns each one's reply or error, in order.
    public func pipeline(_ commands: [RESPCommand]) async throws -> [Result<RESPToken, RedisClientError>] {
        try await self.connection().pipeline(commands)
    }

    /// A live connection of the pool, for several commands on the same connection (`MULTI`/`EXEC`).
    public func connection() async throws -> RedisConnection {
        guard !self.isClosed else { throw RedisClientError(.clientClosed) }
        let index = self.nextSlot
        self.nextSlot = (self.nextSlot + 1) % self.slots.count
        switch self.slots[index] {
        case .connected(let connection) where connection.isActive:
            return connection
        case .connecting(_, let task):
            return try await task.value
        case .connected, .empty:
            break
        }
        let id = self.nextTaskID
        self.nextTaskID += 1
        let configuration = self.configuration
        let eventLoop = self.eventLoopGroup.any()
        let logger = self.logger
        let task = Task {
            try await RedisConnection.connectRetrying(configuration: configuration, eventLoop: eventLoop, logger: logger)
        }
        self.slots[index] = .connecting(id: id, task)
        do {
            let connection = try await task.value
            if case .connecting(id, _) = self.slots[index] {
                self.slots[index] = .connected(connection)
            }
            if self.isClosed {
                await connection.close()
                throw RedisClientError(.clientClosed)
            }
            return connection
        } catch {
            if case .connecting(id, _) = self.slots[index] {
                self.slots[index] = .empty
            }
            throw error
        }
    }

    /// Closes every connection, once the commands already sent have their replies.
    public func close() async {
        self.isClosed = true
        let slots = self.slots
        self.slots = Array(repeating: .empty, count: slots.count)
        for slot in slots {
            switch slot {
            case .connected(let connection):
                await connection.close()
            case .connecting(_, let task):
                task.cancel()
            case .empty:
                break
            }
        }
    }
}
