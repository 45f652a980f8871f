import CoreMetrics
import Metrics
import Prometheus

/// The API's swift-metrics counters, made in the registry that `/metrics` renders.
///
/// They use a Prometheus factory over ``HeraldAPIDependencies/metrics`` rather than the
/// global `MetricsSystem`, so they appear at `/metrics` whether or not (and however) the
/// process bootstrapped it; a bootstrap over the same registry shares the same series.
///
/// Series labelled with an app id live in a registry of their own, ``perApp``, which
/// `/metrics` renders only for the admin key: app ids are not for anonymous callers.
struct APIMetrics: Sendable {
    private let factory: PrometheusMetricsFactory
    /// The series with an `app` label.
    let perApp = PrometheusCollectorRegistry()
    private let perAppFactory: PrometheusMetricsFactory
    /// Made up front so `/metrics` shows the series (at 0) before the first one.
    private let inboxFullDeadLetters: CoreMetrics.Counter

    init(registry: PrometheusCollectorRegistry) {
        self.factory = PrometheusMetricsFactory(registry: registry)
        self.perAppFactory = PrometheusMetricsFactory(registry: self.perApp)
        self.inboxFullDeadLetters = CoreMetrics.Counter(
            label: "herald_dead_letters_total",
            dimensions: [("reason", "inbox_full")],
            factory: self.factory
        )
    }

    func countRequest(route: String, method: String, status: Int) {
        Counter(
            label: "herald_api_requests_total",
            dimensions: [("route", route), ("method", method), ("status", String(status))],
            factory: self.factory
        ).increment()
    }

    /// `kind` is `user`, `broadcast` or `topic`.
    func countAccepted(app: String, kind: String, messages: Int = 1) {
        Counter(
            label: "herald_messages_accepted_total",
            dimensions: [("app", app), ("kind", kind)],
            factory: self.perAppFactory
        )
        .increment(by: messages)
    }

    func countDeliveries(app: String, kind: String, sessions: Int) {
        Counter(label: "herald_deliveries_total", dimensions: [("app", app), ("kind", kind)], factory: self.perAppFactory)
            .increment(by: sessions)
    }

    /// QoS 1 messages pushed past the inbox bound into dead letters. The same family as the
    /// store sweeper's `reason="expired"` series, so Prometheus shows one metric with both reasons.
    func countInboxFullDeadLetters(_ count: Int) {
        guard count > 0 else { return }
        self.inboxFullDeadLetters.increment(by: count)
    }
}
