import HeraldCore
import HeraldTestUtils
import NIOCore
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The bus encoding: every body survives a round trip byte for byte, and no truncated or
/// hostile input crashes the decoder or makes it allocate by a length it was sent.
@Suite struct BusMessageCodecTests {
    static let codec = BusMessageCodec()

    static func payload(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static let displaced = SessionInfo(
        app: "app", user: "zoe\u{308}", device: "phone",
        id: SessionID(node: "node-b", connection: 0xDEAD_BEEF_0000_0001, number: 65_535, generation: 42),
        since: Date(millisecondsSince1970: 1_780_000_000_123), order: UInt64.max)

    /// One message of every body (and both kinds of user delivery), with ids that are not ASCII.
    static let samples: [BusMessage] = [
        BusMessage(
            origin: "node-a",
            body: .userMessages(
                app: "app",
                [
                    .live(users: ["alice", "zo\u{EB}", ""], payload: payload("hello")),
                    .stored(
                        deliveries: [UserSequence(user: "bob", seq: 7), UserSequence(user: "zoe\u{308}", seq: .max)],
                        payload: payload("")),
                ])),
        BusMessage(origin: "node-a", body: .userMessages(app: "app", [])),
        BusMessage(origin: "node-a", body: .broadcast(app: "app", seq: 12, payload: payload("news"))),
        BusMessage(origin: "n\u{00F6}de", body: .topic(app: "app", topic: "scores/\u{1F3C0}", payload: payload("3:1"))),
        BusMessage(origin: "node-a", body: .kick(app: "app", user: "alice", device: nil)),
        BusMessage(origin: "node-a", body: .kick(app: "app", user: "alice", device: "tablet")),
        BusMessage(origin: "node-a", body: .replace(displaced: displaced)),
        BusMessage(origin: "", body: .appChanged(app: "app")),
    ]

    static func encoded(_ message: BusMessage) throws -> ByteBuffer {
        try Self.codec.encode(message)
    }

    @Test(arguments: samples.indices)
    func roundTripsEveryBody(index: Int) throws {
        let bytes = try Self.encoded(Self.samples[index])
        let decoded = try Self.codec.decode(bytes)
        // The encoding writes every field's bytes, so equal encodings are equal messages.
        #expect(try Self.encoded(decoded) == bytes)
        #expect(decoded.origin.utf8.elementsEqual(Self.samples[index].origin.utf8))
    }

    @Test func replaceKeepsTheSessionToTheMillisecond() throws {
        let decoded = try Self.codec.decode(try Self.encoded(Self.samples[6]))
        guard case .replace(let session) = decoded.body else {
            Issue.record("decoded \(decoded.body) instead of a replace")
            return
        }
        #expect(session == Self.displaced)
        #expect(session.id.connection == Self.displaced.id.connection)
        #expect(session.since.millisecondsSince1970 == 1_780_000_000_123)
        #expect(session.order == UInt64.max)
        #expect(ByteString(session.user) != ByteString("zo\u{EB}"))
    }

    @Test(arguments: samples.indices)
    func everyTruncationIsAnError(index: Int) throws {
        let bytes = try Self.encoded(Self.samples[index])
        for length in 0..<bytes.readableBytes {
            let prefix = bytes.getSlice(at: bytes.readerIndex, length: length) ?? ByteBuffer()
            let error = #expect(throws: BusMessageCodecError.self) { try Self.codec.decode(prefix) }
            guard case .truncated = error else {
                Issue.record("a cut after \(length) bytes gave \(String(describing: error)) rather than truncated")
                continue
            }
        }
    }

    @Test func trailingBytesAreAnError() throws {
        var bytes = try Self.encoded(Self.samples[2])
        bytes.writeInteger(UInt8(0))
        #expect(throws: BusMessageCodecError.trailingBytes(1)) { try Self.codec.decode(bytes) }
    }

    @Test func unknownVersionAndKindAreErrors() throws {
        var bytes = try Self.encoded(Self.samples[7])
        bytes.setInteger(UInt8(9), at: bytes.readerIndex)
        #expect(throws: BusMessageCodecError.unsupportedVersion(9)) { try Self.codec.decode(bytes) }

        var kind = ByteBuffer()
        kind.writeInteger(BusMessageCodec.version)
        kind.writeInteger(UInt32(0))
        kind.writeInteger(UInt8(200))
        #expect(throws: BusMessageCodecError.unknownKind(200)) { try Self.codec.decode(kind) }
    }

    /// A header of version, empty origin and kind.
    static func header(_ kind: UInt8) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(BusMessageCodec.version)
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(kind)
        return buffer
    }

    @Test func hostileLengthsAreRefusedBeforeAllocating() throws {
        // A string claiming 4 GiB.
        var huge = ByteBuffer()
        huge.writeInteger(BusMessageCodec.version)
        huge.writeInteger(UInt32.max)
        #expect(throws: BusMessageCodecError.tooLarge(field: "origin", length: Int(UInt32.max), limit: 65_535)) {
            try Self.codec.decode(huge)
        }

        // A string under the limit but longer than the bytes sent.
        var short = ByteBuffer()
        short.writeInteger(BusMessageCodec.version)
        short.writeInteger(UInt32(60_000))
        short.writeString("abc")
        #expect(throws: BusMessageCodecError.truncated(field: "origin")) { try Self.codec.decode(short) }

        // Four billion deliveries in a few bytes: refused by the count, never reserved.
        var deliveries = Self.header(1)
        deliveries.writeInteger(UInt32(3))
        deliveries.writeString("app")
        deliveries.writeInteger(UInt32.max)
        deliveries.writeBytes([UInt8](repeating: 0, count: 64))
        #expect(throws: BusMessageCodecError.truncated(field: "delivery count")) { try Self.codec.decode(deliveries) }

        // As many users.
        var users = Self.header(1)
        users.writeInteger(UInt32(3))
        users.writeString("app")
        users.writeInteger(UInt32(1))
        users.writeInteger(UInt8(0))
        users.writeInteger(UInt32.max)
        users.writeBytes([UInt8](repeating: 0, count: 16))
        #expect(throws: BusMessageCodecError.truncated(field: "user count")) { try Self.codec.decode(users) }

        // A payload over the limit.
        var payload = Self.header(2)
        payload.writeInteger(UInt32(3))
        payload.writeString("app")
        payload.writeInteger(UInt32(1))
        payload.writeInteger(UInt32(0x7FFF_FFFF))
        #expect(throws: BusMessageCodecError.tooLarge(field: "payload", length: 0x7FFF_FFFF, limit: 16 * 1024 * 1024)) {
            try Self.codec.decode(payload)
        }
    }

    @Test func badValuesAreErrors() throws {
        var utf8 = ByteBuffer()
        utf8.writeInteger(BusMessageCodec.version)
        utf8.writeInteger(UInt32(2))
        utf8.writeBytes([0xC3, 0x28])
        #expect(throws: BusMessageCodecError.invalidUTF8(field: "origin")) { try Self.codec.decode(utf8) }

        var flag = Self.header(4)
        for _ in 0..<2 { flag.writeInteger(UInt32(1)); flag.writeString("a") }
        flag.writeInteger(UInt8(2))
        #expect(throws: BusMessageCodecError.invalidValue(field: "device flag", value: 2)) { try Self.codec.decode(flag) }

        var delivery = Self.header(1)
        delivery.writeInteger(UInt32(1))
        delivery.writeString("a")
        delivery.writeInteger(UInt32(1))
        delivery.writeInteger(UInt8(7))
        delivery.writeBytes([UInt8](repeating: 0, count: 8))
        #expect(throws: BusMessageCodecError.invalidValue(field: "delivery kind", value: 7)) {
            try Self.codec.decode(delivery)
        }
    }

    @Test func encodingRefusesWhatTheReceiverWould() {
        let codec = BusMessageCodec(maximumStringLength: 4, maximumPayloadLength: 2)
        #expect(throws: BusMessageCodecError.tooLarge(field: "app", length: 5, limit: 4)) {
            try codec.encode(BusMessage(origin: "a", body: .appChanged(app: "apple")))
        }
        #expect(throws: BusMessageCodecError.tooLarge(field: "payload", length: 3, limit: 2)) {
            try codec.encode(BusMessage(origin: "a", body: .broadcast(app: "a", seq: 1, payload: ByteBuffer(string: "abc"))))
        }
    }

    /// Flipped bytes in every sample (a fixed generator, so a failure repeats) decode or fail
    /// cleanly.
    @Test func corruptedInputNeverCrashes() throws {
        var generator = SeededRandom(seed: 0x5EED)
        for sample in Self.samples {
            let bytes = try Self.encoded(sample)
            for _ in 0..<500 {
                var corrupted = bytes
                let offset = Int(generator.next() % UInt64(bytes.readableBytes))
                corrupted.setInteger(UInt8(truncatingIfNeeded: generator.next()), at: corrupted.readerIndex + offset)
                _ = try? Self.codec.decode(corrupted)
            }
        }
    }
}
