import NIOCore

/// A command for the server: its name and arguments, each sent as a bulk string.
///
/// ```swift
/// RESPCommand("SET", "greeting", .bytes(payload), "EX", 60)
/// ```
public struct RESPCommand: Hashable, Sendable, CustomStringConvertible {
    /// One argument of a command.
    public enum Argument: Hashable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        /// Text, sent as its UTF-8 bytes.
        case string(String)
        /// Bytes, sent as they are.
        case bytes(ByteBuffer)
        /// An integer, sent as its decimal digits.
        case integer(Int64)

        public init(stringLiteral value: String) {
            self = .string(value)
        }

        public init(integerLiteral value: Int64) {
            self = .integer(value)
        }
    }

    /// The command's name followed by its arguments.
    public var arguments: [Argument]

    /// Creates a command from its name and arguments.
    public init(_ name: String, _ arguments: Argument...) {
        self.arguments = [.string(name)] + arguments
    }

    /// Creates a command from its name and an array of arguments.
    public init(_ name: String, arguments: [Argument]) {
        self.arguments = [.string(name)] + arguments
    }

    /// The command's name, for logs and errors (arguments may hold secrets and are left out).
    public var name: String {
        switch self.arguments.first {
        case .string(let name): name.uppercased()
        case .bytes(let bytes): String(buffer: bytes).uppercased()
        case .integer(let value): "\(value)"
        case nil: ""
        }
    }

    public var description: String {
        self.name
    }
}
