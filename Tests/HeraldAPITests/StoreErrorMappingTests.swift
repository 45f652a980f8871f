import Foundation
import HTTPTypes
import HeraldCore
import HeraldTesting
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import Testing

@testable import HeraldAPI

/// ``MessageStoreError`` as HTTP: one mapping, the same from a handler's store call and from
/// the error middleware.
@Suite("API: store errors as HTTP answers")
struct StoreErrorMappingTests {
    static let errors: [MessageStoreError] = [
        .unavailable("database is down"),
        .idempotencyConflict,
        .sequenceExhausted(app: "demo"),
    ]

    /// The status, code and message each case is answered with. No `default:`, so a new case
    /// does not compile until it is given its answer here.
    static func expected(_ error: MessageStoreError) -> (status: Int, code: String, message: String) {
        switch error {
        case .unavailable:
            (503, "store_unavailable", "the store is unavailable, retry later")
        case .idempotencyConflict:
            (
                409, "idempotency_conflict",
                "this Idempotency-Key was used within the last 24 hours for a different request"
            )
        case .sequenceExhausted:
            (
                507, "sequence_exhausted",
                #"a sequence of app "demo" reached its end; nothing more can be stored under this epoch"#
            )
        }
    }

    @Test(arguments: Self.errors)
    func everyCaseHasItsAnswer(_ error: MessageStoreError) {
        let answer = APIError(error)
        let expected = Self.expected(error)
        #expect(answer.status.code == expected.status)
        #expect(answer.code == expected.code)
        #expect(answer.message == expected.message)
        #expect(answer.headers.isEmpty)
    }

    @Test(arguments: Self.errors)
    func storeCallsNameTheOperationOnlyWhenUnavailable(_ error: MessageStoreError) async throws {
        let handlers = Self.handlers()
        let thrown = await #expect(throws: APIError.self) {
            try await handlers.storeCall("append to inbox") { () async throws -> Int in throw error }
        }
        var expected = Self.expected(error)
        if case .unavailable = error { expected.message = "the store is unavailable (append to inbox), retry later" }
        #expect(thrown?.status.code == expected.status)
        #expect(thrown?.code == expected.code)
        #expect(thrown?.message == expected.message)
    }

    @Test func otherStoreFailuresAre503() async throws {
        struct DriverError: Error {}
        let thrown = await #expect(throws: APIError.self) {
            try await Self.handlers().storeCall("list apps") { () async throws -> Int in throw DriverError() }
        }
        #expect(thrown?.status == .serviceUnavailable)
        #expect(thrown?.code == "store_unavailable")
        #expect(thrown?.message == "the store is unavailable (list apps), retry later")
    }

    @Test(arguments: Self.errors)
    func theErrorMiddlewareAnswersTheSame(_ error: MessageStoreError) async throws {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.get("/fail") { _, _ -> Response in throw error }
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/fail", method: .get)
            let expected = Self.expected(error)
            #expect(response.status.code == expected.status)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            let body = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
            let fields = (body as? [String: Any])?["error"] as? [String: Any]
            #expect(fields?["code"] as? String == expected.code)
            #expect(fields?["message"] as? String == expected.message)
        }
    }

    static func handlers() -> APIHandlers {
        APIHandlers(
            configuration: APIConfiguration(
                host: "127.0.0.1",
                port: 0,
                nodeID: "node-a",
                dispatchEndpoints: [],
                reconnect: ReconnectPolicy(baseMs: 250, maxMs: 10_000, jitter: 0.5)
            ),
            dependencies: HeraldAPIDependencies(
                adminKey: APIHarness.adminKey,
                catalog: InMemoryAppCatalog([]),
                apps: AppRegistry([]),
                store: InMemoryMessageStore(),
                delivery: RecordingDelivery(),
                directory: LocalSessionDirectory(),
                metrics: PrometheusCollectorRegistry(),
                isReady: { true }
            ),
            metrics: APIMetrics(registry: PrometheusCollectorRegistry()),
            openAPIDocument: nil
        )
    }
}
