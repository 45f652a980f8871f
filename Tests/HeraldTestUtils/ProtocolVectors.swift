import Foundation

/// The shared protocol test vectors (`shared/protocol-vectors.json` beside the repository),
/// which every implementation's codec tests run.
///
/// ``load()`` reads the file named by the `HERALD_PROTOCOL_VECTORS` environment variable,
/// else the one found relative to this source file, and throws a descriptive error when it
/// is missing or malformed: a missing file must fail the tests, never skip them.
public struct ProtocolVectors: Sendable, Decodable {
    /// A JSON value, compared semantically (object key order does not matter).
    public enum JSON: Sendable, Hashable, Decodable, CustomStringConvertible {
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([JSON])
        case object([String: JSON])

        /// Decodes any JSON value.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode([JSON].self) {
                self = .array(value)
            } else {
                self = .object(try container.decode([String: JSON].self))
            }
        }

        /// Parses JSON text, such as a frame body.
        public init(parsing bytes: some Sequence<UInt8>) throws {
            self = try JSONDecoder().decode(JSON.self, from: Data(bytes))
        }

        /// A compact rendering for failure messages.
        public var description: String {
            switch self {
            case .null: "null"
            case .bool(let value): "\(value)"
            case .number(let value): "\(value)"
            case .string(let value): "\"\(value)\""
            case .array(let values): "[" + values.map(\.description).joined(separator: ",") + "]"
            case .object(let fields):
                "{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
                    + "}"
            }
        }
    }

    /// What a valid frame must decode to. Fields that do not apply to the op are `nil`.
    public struct Expectation: Sendable, Decodable {
        /// The op byte.
        public var op: UInt8
        /// The flags field.
        public var flags: UInt16
        /// The seq field.
        public var seq: UInt32
        /// The JSON body, for JSON ops.
        public var json: JSON?
        /// The whole body in hex, for ops whose body is given verbatim.
        public var bodyHex: String?
        /// The `session` field of a binary body (PUSH, ACK, UPSTREAM).
        public var session: UInt16?
        /// The `kind` field of a binary body (PUSH, ACK).
        public var kind: UInt8?
        /// The topic of a PUSH.
        public var topic: String?
        /// The payload of a PUSH or UPSTREAM, in hex.
        public var payloadHex: String?

        enum CodingKeys: String, CodingKey {
            case op, flags, seq, json, session, kind, topic
            case bodyHex = "body_hex"
            case payloadHex = "payload_hex"
        }
    }

    /// A well-formed frame and its meaning.
    public struct ValidFrame: Sendable, Decodable, CustomStringConvertible {
        /// What the vector shows.
        public var name: String
        /// The whole frame, length field included.
        public var hex: String
        /// What it decodes to.
        public var expect: Expectation

        /// The name, so that parameterized tests are readable.
        public var description: String { self.name }
    }

    /// A malformed frame and the error code it must get.
    public struct InvalidFrame: Sendable, Decodable, CustomStringConvertible {
        /// What is wrong with it.
        public var name: String
        /// The bytes, in hex.
        public var hex: String
        /// The ERROR code, e.g. `bad_frame`.
        public var error: String

        /// The name, so that parameterized tests are readable.
        public var description: String { self.name }
    }

    /// The claims an accepted token must yield.
    public struct Claims: Sendable, Decodable {
        /// The app id.
        public var app: String
        /// The user id.
        public var sub: String
        /// The device id, if the token carries one.
        public var dev: String?
        /// Expiry, seconds since 1970.
        public var exp: Int64
        /// The topic patterns, if the token carries any.
        public var topics: [String]?
    }

    /// A token for app `demo` and the answer it must get.
    public struct TokenVector: Sendable, Decodable, CustomStringConvertible {
        /// What the vector shows.
        public var name: String
        /// The secret of app `demo`.
        public var secret: String
        /// The JWT.
        public var token: String
        /// The claims, for accepted tokens.
        public var claims: Claims?
        /// `accepted`, or the ERROR code.
        public var expect: String

        /// The name, so that parameterized tests are readable.
        public var description: String { self.name }
    }

    /// Why the vectors could not be loaded.
    public struct LoadError: Error, CustomStringConvertible {
        /// What went wrong, with the path tried.
        public var description: String
    }

    /// Free text about the file.
    public var about: String
    /// Well-formed frames of every op.
    public var valid: [ValidFrame]
    /// Malformed frames with their error codes.
    public var invalid: [InvalidFrame]
    /// Tokens with their answers.
    public var tokens: [TokenVector]

    /// The environment variable that overrides where the vectors are read from.
    public static let environmentVariable = "HERALD_PROTOCOL_VECTORS"

    /// Where the vectors are read from.
    public static func url(filePath: String = #filePath) -> URL {
        if let override = ProcessInfo.processInfo.environment[Self.environmentVariable], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        // Tests/HeraldTestUtils/ProtocolVectors.swift -> <repo>/.. /shared/protocol-vectors.json
        return URL(fileURLWithPath: filePath)
            .deletingLastPathComponent()
            .appendingPathComponent("../../../shared/protocol-vectors.json")
            .standardizedFileURL
    }

    /// Reads and decodes the vectors; throws ``LoadError`` naming the path when that fails.
    public static func load() throws -> ProtocolVectors {
        let url = Self.url()
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw LoadError(
                description: "protocol vectors not found at \(url.path) (set \(Self.environmentVariable)): \(error)"
            )
        }
        let vectors: ProtocolVectors
        do {
            vectors = try JSONDecoder().decode(ProtocolVectors.self, from: data)
        } catch {
            throw LoadError(description: "protocol vectors at \(url.path) are malformed: \(error)")
        }
        guard !vectors.valid.isEmpty, !vectors.invalid.isEmpty, !vectors.tokens.isEmpty else {
            throw LoadError(description: "protocol vectors at \(url.path) lack a valid, invalid or tokens section")
        }
        return vectors
    }
}
