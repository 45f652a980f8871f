import Foundation
import HTTPTypes
import HeraldCore
import HeraldTesting
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import Testing

@testable import HeraldAPI

/// The real API, with in-memory ports and a recording delivery, driven by HummingbirdTesting:
/// through the router alone (`.router`, the default) or over real sockets (`.live`).
struct APIHarness: Sendable {
    static let adminKey = "test-admin-key-0123456789"
    static let appSecret = "demo-secret-0123456789abcdef"

    let client: any TestClientProtocol
    let delivery: RecordingDelivery
    let directory: LocalSessionDirectory
    let catalog: InMemoryAppCatalog
    let registry: AppRegistry
    let store: any MessageStore
    let ready: NIOLockedValueBox<Bool>
    let configuration: APIConfiguration

    /// An answer: status, headers, body bytes, and the body as a JSON object if it is one.
    struct Answer {
        var status: Int
        /// Lowercased names; a repeated field's values joined with ", ".
        var headers: [String: String]
        var body: Data
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: self.body)) as? [String: Any] }
        var text: String { String(decoding: self.body, as: UTF8.self) }
        var errorCode: String? { (self.json?["error"] as? [String: Any])?["code"] as? String }
        var errorMessage: String? { (self.json?["error"] as? [String: Any])?["message"] as? String }
    }

    /// Makes the API with the app `demo` (secret ``appSecret``, `policy`), runs `body` against
    /// it in `setup`, and stops it.
    static func run(
        _ setup: TestingSetup = .router,
        store: any MessageStore = InMemoryMessageStore(),
        delivery: RecordingDelivery = RecordingDelivery(),
        policy: AppPolicy = AppPolicy(),
        configure: (inout APIConfiguration) -> Void = { _ in },
        configureDependencies: (inout HeraldAPIDependencies) -> Void = { _ in },
        _ body: @Sendable (APIHarness) async throws -> Void
    ) async throws {
        let app = App(id: "demo", secret: Self.appSecret, epoch: "epoch-1", createdAt: Date(), policy: policy)
        let catalog = InMemoryAppCatalog([app])
        let registry = AppRegistry([app])
        let directory = LocalSessionDirectory()
        let ready = NIOLockedValueBox(true)
        var configuration = APIConfiguration(
            host: "127.0.0.1",
            port: 0,
            nodeID: "node-a",
            dispatchEndpoints: [DispatchEndpoint(node: "node-a", tcp: "127.0.0.1:7070", ws: "ws://127.0.0.1:7071/ws")],
            reconnect: ReconnectPolicy(baseMs: 250, maxMs: 10_000, jitter: 0.5)
        )
        configure(&configuration)
        var dependencies = HeraldAPIDependencies(
            adminKey: Self.adminKey,
            catalog: catalog,
            apps: registry,
            store: store,
            delivery: delivery,
            directory: directory,
            metrics: PrometheusCollectorRegistry(),
            isReady: { ready.withLockedValue { $0 } }
        )
        configureDependencies(&dependencies)
        var logger = Logger(label: "herald.api.test")
        logger.logLevel = .warning
        let application = APIServer.makeHummingbirdApplication(
            configuration: configuration,
            dependencies: dependencies,
            logger: logger
        )
        let finalConfiguration = configuration
        try await application.test(setup) { client in
            try await body(
                APIHarness(
                    client: client,
                    delivery: delivery,
                    directory: directory,
                    catalog: catalog,
                    registry: registry,
                    store: store,
                    ready: ready,
                    configuration: finalConfiguration
                )
            )
        }
    }

    /// Sends one request; `body` is sent as given (so malformed JSON can be sent too).
    func request(
        _ method: String,
        _ path: String,
        body: Data? = nil,
        bearer: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> Answer {
        var fields = HTTPFields()
        if body != nil { fields[.contentType] = "application/json" }
        if let bearer { fields[.authorization] = "Bearer \(bearer)" }
        for (name, value) in headers {
            let name = try #require(HTTPField.Name(name))
            fields[name] = value
        }
        let response = try await self.client.executeRequest(
            uri: path,
            method: HTTPRequest.Method(rawValue: method) ?? .get,
            headers: fields,
            body: body.map { ByteBuffer(bytes: $0) }
        )
        var answerHeaders: [String: String] = [:]
        for field in response.headers {
            let name = field.name.canonicalName
            answerHeaders[name] = answerHeaders[name].map { "\($0), \(field.value)" } ?? field.value
        }
        return Answer(
            status: response.status.code,
            headers: answerHeaders,
            body: Data(response.body.readableBytesView)
        )
    }

    /// Sends `json` (any JSONSerialization value) with the demo app's secret unless told otherwise.
    func post(
        _ path: String,
        json: Any,
        bearer: String? = Self.appSecret,
        headers: [String: String] = [:]
    ) async throws -> Answer {
        try await self.request(
            "POST",
            path,
            body: try JSONSerialization.data(withJSONObject: json),
            bearer: bearer,
            headers: headers
        )
    }

    /// Sends raw text as the body.
    func post(_ path: String, raw: String, bearer: String? = Self.appSecret) async throws -> Answer {
        try await self.request("POST", path, body: Data(raw.utf8), bearer: bearer)
    }

    func get(_ path: String, bearer: String? = Self.appSecret) async throws -> Answer {
        try await self.request("GET", path, bearer: bearer)
    }

    func delete(_ path: String, bearer: String? = Self.appSecret) async throws -> Answer {
        try await self.request("DELETE", path, bearer: bearer)
    }
}

/// Checks an answer is the JSON error shape with `status` and `code`.
func expectError(
    _ answer: APIHarness.Answer,
    _ status: Int,
    _ code: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(answer.status == status, "body: \(answer.text)", sourceLocation: sourceLocation)
    #expect(answer.headers["content-type"]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    #expect(answer.errorMessage?.isEmpty == false, "body: \(answer.text)", sourceLocation: sourceLocation)
    if let code {
        #expect(answer.errorCode == code, "body: \(answer.text)", sourceLocation: sourceLocation)
    } else {
        #expect(answer.errorCode != nil, "body: \(answer.text)", sourceLocation: sourceLocation)
    }
}
