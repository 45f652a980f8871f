import HeraldCore
import Hummingbird

/// The API's request context: Hummingbird's core context and, on ``AppRoute``s, the app the
/// request authenticated as.
struct APIRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by ``AppSecretMiddleware`` once the request's secret matched; `nil` on other routes.
    var app: App?
    /// The client's IP address; nil when the request came through no socket (in tests).
    let sourceAddress: String?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = CoreRequestContextStorage(source: source)
        self.app = nil
        self.sourceAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The app ``AppSecretMiddleware`` authenticated. Only its group's routes ask, so this
    /// throws only if a route were registered outside that group.
    func requireApp() throws(APIError) -> App {
        guard let app = self.app else {
            throw APIError.unauthorized("app endpoints need Authorization: Bearer <app secret>")
        }
        return app
    }
}
