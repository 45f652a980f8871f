import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The bus's binary encoding of a ``BusMessage``: a version byte, the origin, a kind byte and
/// the body's fields, every string and payload behind a 32-bit big-endian length.
///
/// Decoding trusts nothing: each length is checked against the limits and against the bytes
/// that are left before anything is allocated, so truncated or hostile input is a
/// ``BusMessageCodecError``, never a crash or a large allocation. docs/architecture.md
/// describes the layout.
public struct BusMessageCodec: Sendable {
    /// The encoding this codec writes and the only one it reads.
    public static let version: UInt8 = 1

    /// The longest id (app, user, device, topic, node) in bytes.
    public var maximumStringLength: Int
    /// The longest payload in bytes.
    public var maximumPayloadLength: Int

    public init(maximumStringLength: Int = 65_535, maximumPayloadLength: Int = 16 * 1024 * 1024) {
        self.maximumStringLength = maximumStringLength
        self.maximumPayloadLength = maximumPayloadLength
    }

    private enum Kind: UInt8 {
        case userMessages = 1
        case broadcast = 2
        case topic = 3
        case kick = 4
        case replace = 5
        case appChanged = 6
    }

    private enum DeliveryKind: UInt8 {
        case live = 0
        case stored = 1
    }

    // MARK: Encoding

    /// `message` as bytes.
    public func encode(_ message: BusMessage, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        try self.encode(message, into: &buffer)
        return buffer
    }

    /// Appends `message` to `buffer`; throws if a field is longer than the limits allow, as
    /// the receiving node would refuse it.
    public func encode(_ message: BusMessage, into buffer: inout ByteBuffer) throws {
        buffer.writeInteger(Self.version)
        try self.write(message.origin, field: "origin", into: &buffer)
        switch message.body {
        case .userMessages(let app, let deliveries):
            buffer.writeInteger(Kind.userMessages.rawValue)
            try self.write(app, field: "app", into: &buffer)
            try self.writeCount(deliveries.count, field: "delivery count", into: &buffer)
            for delivery in deliveries {
                switch delivery {
                case .live(let users, let payload):
                    buffer.writeInteger(DeliveryKind.live.rawValue)
                    try self.writeCount(users.count, field: "user count", into: &buffer)
                    for user in users { try self.write(user, field: "user", into: &buffer) }
                    try self.write(payload: payload, into: &buffer)
                case .stored(let sequences, let payload):
                    buffer.writeInteger(DeliveryKind.stored.rawValue)
                    try self.writeCount(sequences.count, field: "user count", into: &buffer)
                    for sequence in sequences {
                        try self.write(sequence.user, field: "user", into: &buffer)
                        buffer.writeInteger(sequence.seq)
                    }
                    try self.write(payload: payload, into: &buffer)
                }
            }
        case .broadcast(let app, let seq, let payload):
            buffer.writeInteger(Kind.broadcast.rawValue)
            try self.write(app, field: "app", into: &buffer)
            buffer.writeInteger(seq)
            try self.write(payload: payload, into: &buffer)
        case .topic(let app, let topic, let payload):
            buffer.writeInteger(Kind.topic.rawValue)
            try self.write(app, field: "app", into: &buffer)
            try self.write(topic, field: "topic", into: &buffer)
            try self.write(payload: payload, into: &buffer)
        case .kick(let app, let user, let device):
            buffer.writeInteger(Kind.kick.rawValue)
            try self.write(app, field: "app", into: &buffer)
            try self.write(user, field: "user", into: &buffer)
            if let device {
                buffer.writeInteger(UInt8(1))
                try self.write(device, field: "device", into: &buffer)
            } else {
                buffer.writeInteger(UInt8(0))
            }
        case .replace(let displaced):
            buffer.writeInteger(Kind.replace.rawValue)
            try self.write(displaced.app, field: "app", into: &buffer)
            try self.write(displaced.user, field: "user", into: &buffer)
            try self.write(displaced.device, field: "device", into: &buffer)
            try self.write(displaced.id.node, field: "node", into: &buffer)
            buffer.writeInteger(displaced.id.connection)
            buffer.writeInteger(displaced.id.number)
            buffer.writeInteger(displaced.id.generation)
            buffer.writeInteger(displaced.since.millisecondsSince1970)
            buffer.writeInteger(displaced.order)
        case .appChanged(let app):
            buffer.writeInteger(Kind.appChanged.rawValue)
            try self.write(app, field: "app", into: &buffer)
        }
    }

    private func write(_ string: String, field: String, into buffer: inout ByteBuffer) throws {
        let length = string.utf8.count
        guard length <= self.maximumStringLength else {
            throw BusMessageCodecError.tooLarge(field: field, length: length, limit: self.maximumStringLength)
        }
        buffer.writeInteger(UInt32(length))
        buffer.writeString(string)
    }

    private func write(payload: ByteBuffer, into buffer: inout ByteBuffer) throws {
        guard payload.readableBytes <= self.maximumPayloadLength else {
            throw BusMessageCodecError.tooLarge(
                field: "payload", length: payload.readableBytes, limit: self.maximumPayloadLength)
        }
        buffer.writeInteger(UInt32(payload.readableBytes))
        buffer.writeImmutableBuffer(payload)
    }

    private func writeCount(_ count: Int, field: String, into buffer: inout ByteBuffer) throws {
        guard count <= UInt32.max else {
            throw BusMessageCodecError.tooLarge(field: field, length: count, limit: Int(UInt32.max))
        }
        buffer.writeInteger(UInt32(count))
    }

    // MARK: Decoding

    /// The message `bytes` hold, which must be exactly one message.
    public func decode(_ bytes: ByteBuffer) throws -> BusMessage {
        var buffer = bytes
        let version: UInt8 = try Self.read(&buffer, field: "version")
        guard version == Self.version else { throw BusMessageCodecError.unsupportedVersion(version) }
        let origin = try self.readString(&buffer, field: "origin")
        let rawKind: UInt8 = try Self.read(&buffer, field: "kind")
        guard let kind = Kind(rawValue: rawKind) else { throw BusMessageCodecError.unknownKind(rawKind) }
        let body: BusMessage.Body
        switch kind {
        case .userMessages:
            let app = try self.readString(&buffer, field: "app")
            // A delivery is at least its kind, a count and a payload length.
            let count = try Self.readCount(&buffer, field: "delivery count", minimumElementSize: 9)
            var deliveries: [UserDelivery] = []
            deliveries.reserveCapacity(count)
            for _ in 0..<count {
                deliveries.append(try self.readDelivery(&buffer))
            }
            body = .userMessages(app: app, deliveries)
        case .broadcast:
            let app = try self.readString(&buffer, field: "app")
            let seq: UInt32 = try Self.read(&buffer, field: "broadcast sequence")
            body = .broadcast(app: app, seq: seq, payload: try self.readPayload(&buffer))
        case .topic:
            let app = try self.readString(&buffer, field: "app")
            let topic = try self.readString(&buffer, field: "topic")
            body = .topic(app: app, topic: topic, payload: try self.readPayload(&buffer))
        case .kick:
            let app = try self.readString(&buffer, field: "app")
            let user = try self.readString(&buffer, field: "user")
            let hasDevice: UInt8 = try Self.read(&buffer, field: "device flag")
            switch hasDevice {
            case 0: body = .kick(app: app, user: user, device: nil)
            case 1: body = .kick(app: app, user: user, device: try self.readString(&buffer, field: "device"))
            default: throw BusMessageCodecError.invalidValue(field: "device flag", value: hasDevice)
            }
        case .replace:
            let app = try self.readString(&buffer, field: "app")
            let user = try self.readString(&buffer, field: "user")
            let device = try self.readString(&buffer, field: "device")
            let node = try self.readString(&buffer, field: "node")
            let connection: UInt64 = try Self.read(&buffer, field: "connection number")
            let number: UInt16 = try Self.read(&buffer, field: "session number")
            let generation: UInt64 = try Self.read(&buffer, field: "session generation")
            let since: Int64 = try Self.read(&buffer, field: "session start")
            let order: UInt64 = try Self.read(&buffer, field: "session order")
            let id = SessionID(node: node, connection: connection, number: number, generation: generation)
            body = .replace(
                displaced: SessionInfo(
                    app: app, user: user, device: device, id: id,
                    since: Date(millisecondsSince1970: since), order: order))
        case .appChanged:
            body = .appChanged(app: try self.readString(&buffer, field: "app"))
        }
        guard buffer.readableBytes == 0 else { throw BusMessageCodecError.trailingBytes(buffer.readableBytes) }
        return BusMessage(origin: origin, body: body)
    }

    private func readDelivery(_ buffer: inout ByteBuffer) throws -> UserDelivery {
        let rawKind: UInt8 = try Self.read(&buffer, field: "delivery kind")
        guard let kind = DeliveryKind(rawValue: rawKind) else {
            throw BusMessageCodecError.invalidValue(field: "delivery kind", value: rawKind)
        }
        switch kind {
        case .live:
            let count = try Self.readCount(&buffer, field: "user count", minimumElementSize: 4)
            var users: [String] = []
            users.reserveCapacity(count)
            for _ in 0..<count {
                users.append(try self.readString(&buffer, field: "user"))
            }
            return .live(users: users, payload: try self.readPayload(&buffer))
        case .stored:
            let count = try Self.readCount(&buffer, field: "user count", minimumElementSize: 8)
            var sequences: [UserSequence] = []
            sequences.reserveCapacity(count)
            for _ in 0..<count {
                let user = try self.readString(&buffer, field: "user")
                let seq: UInt32 = try Self.read(&buffer, field: "inbox sequence")
                sequences.append(UserSequence(user: user, seq: seq))
            }
            return .stored(deliveries: sequences, payload: try self.readPayload(&buffer))
        }
    }

    private static func read<Integer: FixedWidthInteger>(_ buffer: inout ByteBuffer, field: String) throws -> Integer {
        guard let value = buffer.readInteger(as: Integer.self) else { throw BusMessageCodecError.truncated(field: field) }
        return value
    }

    /// A count of elements, each at least `minimumElementSize` bytes: a count the remaining
    /// bytes cannot hold is refused before any array is sized by it.
    private static func readCount(_ buffer: inout ByteBuffer, field: String, minimumElementSize: Int) throws -> Int {
        let count = Int(try Self.read(&buffer, field: field) as UInt32)
        guard count <= buffer.readableBytes / minimumElementSize else { throw BusMessageCodecError.truncated(field: field) }
        return count
    }

    private func readLength(_ buffer: inout ByteBuffer, field: String, limit: Int) throws -> Int {
        let length = Int(try Self.read(&buffer, field: "\(field) length") as UInt32)
        guard length <= limit else { throw BusMessageCodecError.tooLarge(field: field, length: length, limit: limit) }
        guard length <= buffer.readableBytes else { throw BusMessageCodecError.truncated(field: field) }
        return length
    }

    private func readString(_ buffer: inout ByteBuffer, field: String) throws -> String {
        let length = try self.readLength(&buffer, field: field, limit: self.maximumStringLength)
        // Decoding repairs bad UTF-8; a repaired string has other bytes than the ones sent.
        guard let bytes = buffer.readSlice(length: length) else { throw BusMessageCodecError.truncated(field: field) }
        let string = String(decoding: bytes.readableBytesView, as: UTF8.self)
        guard string.utf8.elementsEqual(bytes.readableBytesView) else { throw BusMessageCodecError.invalidUTF8(field: field) }
        return string
    }

    private func readPayload(_ buffer: inout ByteBuffer) throws -> ByteBuffer {
        let length = try self.readLength(&buffer, field: "payload", limit: self.maximumPayloadLength)
        guard let payload = buffer.readSlice(length: length) else { throw BusMessageCodecError.truncated(field: "payload") }
        return payload
    }
}
