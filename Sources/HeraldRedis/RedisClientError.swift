/// An error from Herald's Redis client: a reply the server refused, or a connection that failed.
///
/// The ``code`` is opaque so that new kinds of failure can be added without breaking callers;
/// ``message`` holds the detail (the server's own error line, for ``Code/commandError``).
public struct RedisClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case commandError
            case timeout
            case connectionClosed
            case connectionClosing
            case connectFailed
            case authenticationFailed
            case handshakeFailed
            case protocolError
            case unexpectedReply
            case invalidConfiguration
            case clientClosed
            case tooManyRedirects
            case slotNotServed
            case subscriptionEnded
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The server answered the command with an error reply.
        public static let commandError = Code(.commandError)
        /// No reply came before the command timeout; the connection was closed.
        public static let timeout = Code(.timeout)
        /// The connection closed before the reply came.
        public static let connectionClosed = Code(.connectionClosed)
        /// The connection is closing and takes no new commands.
        public static let connectionClosing = Code(.connectionClosing)
        /// No connection could be made to the server.
        public static let connectFailed = Code(.connectFailed)
        /// The server refused the username or password.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The server refused the connection's setup (`HELLO`, `SELECT`).
        public static let handshakeFailed = Code(.handshakeFailed)
        /// The server sent bytes that are not RESP.
        public static let protocolError = Code(.protocolError)
        /// The server sent a reply nothing was waiting for.
        public static let unexpectedReply = Code(.unexpectedReply)
        /// The configuration (a URL, a setting) cannot be used.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The client or subscriber was closed.
        public static let clientClosed = Code(.clientClosed)
        /// A Redis Cluster redirected the command more often than the client allows.
        public static let tooManyRedirects = Code(.tooManyRedirects)
        /// No node of the Redis Cluster serves the command's slot, or no node could be asked which does.
        public static let slotNotServed = Code(.slotNotServed)
        /// Redis ended a subscription unprompted: the slot of a shard channel moved to another node.
        public static let subscriptionEnded = Code(.subscriptionEnded)

        public var description: String {
            switch self.base {
            case .commandError: "Redis answered with an error"
            case .timeout: "Redis did not answer in time"
            case .connectionClosed: "the connection to Redis closed"
            case .connectionClosing: "the connection to Redis is closing"
            case .connectFailed: "Herald could not connect to Redis"
            case .authenticationFailed: "Redis refused the credentials"
            case .handshakeFailed: "Redis refused the connection's setup"
            case .protocolError: "Redis sent a malformed reply"
            case .unexpectedReply: "Redis sent a reply nothing was waiting for"
            case .invalidConfiguration: "the Redis configuration is invalid"
            case .clientClosed: "the Redis client is closed"
            case .tooManyRedirects: "the Redis Cluster redirected the command too many times"
            case .slotNotServed: "no node of the Redis Cluster serves the slot"
            case .subscriptionEnded: "Redis ended the subscription"
            }
        }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The detail: the server's error line, or what was being done.
    public var message: String?

    /// Creates an error of kind `code` with an optional detail.
    public init(_ code: Code, message: String? = nil) {
        self.code = code
        self.message = message
    }

    public var description: String {
        let sentence = self.code.description.prefix(1).uppercased() + self.code.description.dropFirst()
        guard let message = self.message, !message.isEmpty else { return sentence + "." }
        return sentence + ": " + message + (message.hasSuffix(".") ? "" : ".")
    }
}
