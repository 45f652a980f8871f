import Hummingbird
import Metrics

/// Counts requests by route template, method and status in `herald_api_requests_total`.
///
/// It sits outside ``JSONErrorMiddleware`` so it sees the final status of every answer.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: APIMetrics

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let response = try await next(request, context)
        // Unmatched paths share one label value so clients cannot grow the label set.
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        self.metrics.countRequest(route: route, method: request.method.rawValue, status: response.status.code)
        return response
    }
}
