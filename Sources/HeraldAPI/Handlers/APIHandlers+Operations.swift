import HTTPTypes
import HeraldCore
import Hummingbird
import NIOCore
import Prometheus

extension APIHandlers {
    func readiness() -> Response {
        guard self.dependencies.isReady() else {
            return APIError(.serviceUnavailable, "not_ready", "the node is not ready to serve").response()
        }
        return JSONResponse.make(.ok, StatusResponse(status: "ready"))
    }

    /// Admin: this node's connections, sessions, memory and uptime (read by `herald bench`).
    func nodeStats() -> Response {
        let stats = self.dependencies.nodeStats()
        let uptime = ContinuousClock.now - self.startedAt
        let seconds = uptime.timeInterval
        return JSONResponse.make(
            .ok,
            NodeStatsResponse(
                node: self.configuration.nodeID,
                connections: stats.connections,
                sessions: stats.sessions,
                residentBytes: stats.residentBytes,
                uptimeSeconds: seconds,
                fanOutPasses: stats.fanOutPasses,
                longestFanOutSliceSeconds: stats.longestFanOutSliceSeconds
            )
        )
    }

    /// The node's metrics; the per-app series only with the admin key, which counts as a try
    /// of the admin key for ``AuthFailureLimiter`` when it is wrong.
    func metricsText(_ request: Request, context: APIRequestContext) throws -> Response {
        var bytes = self.dependencies.metrics.emitToBuffer()
        if let credential = request.bearerCredential {
            try self.authFailures.check(context)
            if self.authFailures.verify(credential, matches: self.dependencies.adminKey, context: context) {
                bytes += self.metrics.perApp.emitToBuffer()
            }
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        headers[.contentLength] = String(bytes.count)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func openAPI() throws -> Response {
        guard let document = self.openAPIDocument else {
            throw APIError(.internalServerError, "internal", "openapi.yaml is missing from this build")
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/yaml; charset=utf-8"
        headers[.contentLength] = String(document.readableBytes)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: document))
    }
}
