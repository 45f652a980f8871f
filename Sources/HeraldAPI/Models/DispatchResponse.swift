/// The answer to `GET /v1/dispatch`.
struct DispatchResponse: Encodable, Sendable {
    var endpoints: [DispatchEndpoint]
    var reconnect: ReconnectPolicy
}

/// The answer to `/healthz` and `/readyz`.
struct StatusResponse: Encodable, Sendable {
    var status: String
}
