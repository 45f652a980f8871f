/// The port that keeps apps. SQLite by default, PostgreSQL in a cluster.
public protocol AppCatalog: Sendable {
    /// Stores a new app. Throws ``AppCatalogError/alreadyExists(_:)`` if the id is taken.
    func create(_ app: App) async throws
    /// The app with this id, if any.
    func app(id: String) async throws -> App?
    /// Every app, ordered by id.
    func list() async throws -> [App]
    /// Adds `key` to the app's signing keys in one step (two at once both land) and returns
    /// the app as it is now; nil when there is no such app. Throws
    /// ``AppCatalogError/tooManySigningKeys(_:)`` past ``SigningKey/maximumPerApp``.
    func addSigningKey(_ key: SigningKey, app: String) async throws -> App?
    /// Removes the app's signing key `id` and returns the app as it is now; nil when there is
    /// no such app or key.
    func removeSigningKey(id: String, app: String) async throws -> App?
}
