import HeraldCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An app as the admin endpoints show it.
struct AppResponse: Encodable, Sendable {
    var id: String
    var secret: String
    var webhook: String?
    var epoch: String
    var createdAt: Date
    var policy: AppPolicy

    init(_ app: App) {
        self.id = app.id
        self.secret = app.secret
        self.webhook = app.webhook
        self.epoch = app.epoch
        self.createdAt = app.createdAt
        self.policy = app.policy
    }
}

/// The answer to `GET /v1/apps`.
struct AppListResponse: Encodable, Sendable {
    var apps: [AppResponse]
}
