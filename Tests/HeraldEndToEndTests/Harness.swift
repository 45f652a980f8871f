import HeraldTestUtils
import HeraldWire
import NIOCore

/// A running server with one fresh app: what most end-to-end tests start from.
struct Harness {
    let server: HeraldProcess
    let api: APIClient
    let app: AppCredentials

    /// The server a suite shares (see ``SharedServerTrait``), if any.
    @TaskLocal static var sharedServer: HeraldProcess?

    /// A fresh app on the suite's shared server when there is one, else on a new server.
    /// Tests that need particular flags call ``start(_:)`` with them instead.
    static func make() async throws -> Harness {
        guard let server = Self.sharedServer else { return try await Self.start() }
        let api = APIClient(server)
        return Harness(server: server, api: api, app: try await api.createApp(prefix: "e2e"))
    }

    /// Starts a server of its own with `arguments` and creates an app.
    static func start(_ arguments: [String] = []) async throws -> Harness {
        let server = try await HeraldProcess.start(arguments)
        let api = APIClient(server)
        let app = try await api.createApp(prefix: "e2e")
        return Harness(server: server, api: api, app: app)
    }

    /// A new, unauthenticated connection.
    func connect(_ transport: Transport) async throws -> RawClient {
        try await RawClient.connect(transport, to: self.server)
    }

    /// A token from the API's token endpoint.
    func token(user: String, device: String? = nil, topics: [String]? = nil) async throws -> String {
        try await self.api.token(self.app, user: user, device: device, topics: topics)
    }

    /// A new connection with one session for `user`.
    func connectAndAuth(
        _ transport: Transport,
        user: String,
        device: String? = nil,
        topics: [String]? = nil
    ) async throws -> (RawClient, AuthOK) {
        // The token first: fetched after connecting, a slow API call under load could outlast
        // a short auth timeout.
        let token = try await self.token(user: user, device: device, topics: topics)
        let client = try await self.connect(transport)
        let ok = try await client.auth(token: token)
        return (client, ok)
    }
}

extension PushBody {
    /// The payload as bytes, for comparisons.
    var payloadBytes: [UInt8] { Array(self.payload.readableBytesView) }
}

/// Builds a raw frame, header fields given one by one, for malformed-input tests.
func rawFrame(length: UInt32? = nil, version: UInt8 = 1, op: UInt8, flags: UInt16 = 0, seq: UInt32 = 1, body: [UInt8] = [])
    -> [UInt8]
{
    var buffer = ByteBuffer()
    buffer.writeMultipleIntegers(length ?? UInt32(8 + body.count), version, op, flags, seq)
    buffer.writeBytes(body)
    return Array(buffer.readableBytesView)
}
