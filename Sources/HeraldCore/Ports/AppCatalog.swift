/// The port that keeps apps. SQLite by default, PostgreSQL in a cluster.
public protocol AppCatalog: Sendable {
    /// Stores a new app. Throws ``AppCatalogError/alreadyExists(_:)`` if the id is taken.
    func create(_ app: App) async throws
    /// The app with this id, if any.
    func app(id: String) async throws -> App?
    /// Every app, ordered by id.
    func list() async throws -> [App]
}
