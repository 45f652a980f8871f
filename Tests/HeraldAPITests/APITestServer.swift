import Foundation
import HeraldAPI
import HeraldCore
import HeraldTesting
import Logging
import NIOConcurrencyHelpers
import Prometheus
import ServiceLifecycle
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The real API on 127.0.0.1 with a free port, with in-memory ports and a recording delivery.
struct APITestServer {
    static let adminKey = "test-admin-key-0123456789"
    static let appSecret = "demo-secret-0123456789abcdef"

    let port: Int
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
        var headers: [String: String]
        var body: Data
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: self.body)) as? [String: Any] }
        var text: String { String(decoding: self.body, as: UTF8.self) }
        var errorCode: String? { (self.json?["error"] as? [String: Any])?["code"] as? String }
        var errorMessage: String? { (self.json?["error"] as? [String: Any])?["message"] as? String }
    }

    /// Starts a server with the app `demo` (secret ``appSecret``, `policy`), runs `body`, and stops it.
    static func run(
        store: any MessageStore = InMemoryMessageStore(),
        delivery: RecordingDelivery = RecordingDelivery(),
        policy: AppPolicy = AppPolicy(),
        configure: (inout APIConfiguration) -> Void = { _ in },
        configureDependencies: (inout HeraldAPIDependencies) -> Void = { _ in },
        _ body: (APITestServer) async throws -> Void
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
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "herald.api.test")
        logger.logLevel = .warning
        let application = APIServer.makeApplication(
            configuration: configuration,
            dependencies: dependencies,
            logger: logger,
            onServerRunning: { port in
                portContinuation.yield(port)
                portContinuation.finish()
            }
        )
        // Graceful shutdown rather than cancellation: the server finishes its connections quietly.
        let serviceGroup = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [application], logger: logger)
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await serviceGroup.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let server = APITestServer(
                port: port,
                delivery: delivery,
                directory: directory,
                catalog: catalog,
                registry: registry,
                store: store,
                ready: ready,
                configuration: configuration
            )
            do {
                try await body(server)
            } catch {
                await serviceGroup.triggerGracefulShutdown()
                throw error
            }
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        configuration.timeoutIntervalForResource = 20
        return URLSession(configuration: configuration)
    }()

    /// Sends one request; `body` is sent as given (so malformed JSON can be sent too).
    func request(
        _ method: String,
        _ path: String,
        body: Data? = nil,
        bearer: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> Answer {
        let url = try #require(URL(string: "http://127.0.0.1:\(self.port)\(path)"))
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await Self.session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return Answer(status: http.statusCode, headers: fields, body: data)
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
}

/// Checks an answer is the JSON error shape with `status` and `code`.
func expectError(
    _ answer: APITestServer.Answer,
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
