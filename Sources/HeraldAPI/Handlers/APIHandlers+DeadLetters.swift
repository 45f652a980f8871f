import HeraldCore
import Hummingbird

extension APIHandlers {
    /// Most dead letters one page may ask for.
    static let maximumDeadLetterPage = 500
    static let defaultDeadLetterPage = 100

    /// The app's dead letters, newest first; `before` (the previous page's `next`) pages on.
    func deadLetters(_ request: Request, app: App) async throws -> Response {
        let query = request.uri.queryParameters
        var before: Int64?
        if let text = query["before"] {
            guard let value = Int64(String(text)), value >= 1 else {
                throw APIError.badRequest(
                    "before must be a dead-letter id (a positive integer)", code: "invalid_before")
            }
            before = value
        }
        var limit = Self.defaultDeadLetterPage
        if let text = query["limit"] {
            guard let value = Int(String(text)), (1...Self.maximumDeadLetterPage).contains(value) else {
                throw APIError.badRequest(
                    "limit must be an integer from 1 to \(Self.maximumDeadLetterPage)",
                    code: "invalid_limit"
                )
            }
            limit = value
        }
        let page = try await self.storeCall("list dead letters") {
            try await self.dependencies.store.deadLetters(app: app.id, before: before, limit: limit)
        }
        return JSONResponse.make(.ok, DeadLetterPageResponse(page))
    }
}
