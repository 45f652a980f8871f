import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Builds the API requests the push scenarios send, each stamped with the time it is built
/// (which is when ``BenchHTTPLoad`` sends it).
struct PushRequests: Sendable {
    let app: String
    let userPrefix: String
    /// Users `userPrefix + 0 ..< users` are the ones connected.
    let users: Int
    let payloadSize: Int

    /// `POST /v1/apps/{app}/messages/batch` with `batch` messages, each to one user picked by a
    /// hash of `index` (spread evenly, the same for a given index).
    func batch(index: Int, batch: Int, qos: Int) -> (path: String, body: ByteBuffer) {
        let payload = Self.base64(BenchPayload.make(sentAt: BenchPayload.now(), size: self.payloadSize))
        var body = ByteBuffer()
        body.reserveCapacity(batch * (payload.utf8.count + 60) + 20)
        body.writeStaticString(#"{"messages":["#)
        for item in 0..<batch {
            if item > 0 { body.writeStaticString(",") }
            let user = self.user(ofBatch: index, item: item)
            self.writeMessage(to: user, payload: payload, qos: qos, into: &body)
        }
        body.writeStaticString("]}")
        return ("/v1/apps/\(self.app)/messages/batch", body)
    }

    /// The user of message `item` of batch `index`.
    func user(ofBatch index: Int, item: Int) -> Int {
        Self.pick(UInt64(index) &* 1000 &+ UInt64(item), in: self.users)
    }

    /// The users of batch `index`'s `batch` messages, in order.
    func users(ofBatch index: Int, batch: Int) -> some Sequence<Int> {
        (0..<batch).lazy.map { self.user(ofBatch: index, item: $0) }
    }

    /// `POST /v1/apps/{app}/messages` with one message to one user, picked as ``batch(index:batch:qos:)``
    /// picks the first of a batch: what a backend sends for one user's notification.
    func single(index: Int, qos: Int) -> (path: String, body: ByteBuffer) {
        let payload = Self.base64(BenchPayload.make(sentAt: BenchPayload.now(), size: self.payloadSize))
        let user = self.user(ofBatch: index, item: 0)
        var body = ByteBuffer()
        body.reserveCapacity(payload.utf8.count + self.userPrefix.utf8.count + 64)
        self.writeMessage(to: user, payload: payload, qos: qos, into: &body)
        return ("/v1/apps/\(self.app)/messages", body)
    }

    /// One message's JSON object: to user `userPrefix + user`, the payload in base64.
    private func writeMessage(to user: Int, payload: String, qos: Int, into body: inout ByteBuffer) {
        body.writeStaticString(#"{"users":[""#)
        body.writeString(self.userPrefix)
        body.writeString(String(user))
        body.writeStaticString(#""],"payloadBase64":""#)
        body.writeString(payload)
        body.writeStaticString(#"","qos":"#)
        body.writeString(String(qos))
        body.writeStaticString("}")
    }

    /// `POST /v1/apps/{app}/broadcasts`.
    func broadcast() -> (path: String, body: ByteBuffer) {
        ("/v1/apps/\(self.app)/broadcasts", self.payloadBody())
    }

    /// `POST /v1/apps/{app}/topics/{topic}/messages`.
    func publish(topic: String) -> (path: String, body: ByteBuffer) {
        ("/v1/apps/\(self.app)/topics/\(Self.percentEncoded(topic))/messages", self.payloadBody())
    }

    private func payloadBody() -> ByteBuffer {
        let payload = Self.base64(BenchPayload.make(sentAt: BenchPayload.now(), size: self.payloadSize))
        var body = ByteBuffer()
        body.writeStaticString(#"{"payloadBase64":""#)
        body.writeString(payload)
        body.writeStaticString(#""}"#)
        return body
    }

    /// A user in `0..<count` for `seed` (SplitMix64: cheap, and even enough).
    static func pick(_ seed: UInt64, in count: Int) -> Int {
        guard count > 1 else { return 0 }
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(count))
    }

    /// Standard base64 with padding.
    static func base64(_ buffer: ByteBuffer) -> String {
        Data(buffer.readableBytesView).base64EncodedString()
    }

    /// Percent-encodes everything but unreserved characters, for a path segment.
    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.append(Character(UnicodeScalar(byte)))
            default:
                let hex = Array("0123456789ABCDEF")
                result.append("%")
                result.append(hex[Int(byte >> 4)])
                result.append(hex[Int(byte & 15)])
            }
        }
        return result
    }
}

extension PushRequests {
    /// The requests of `run`: its app, and the users its clients are.
    init(for run: ScenarioRun) {
        self.init(
            app: run.target.app,
            userPrefix: run.settings.userPrefix,
            users: run.settings.connections,
            payloadSize: run.settings.payloadSize
        )
    }
}
