import NIOConcurrencyHelpers

/// The apps this node knows, readable synchronously from an event loop.
///
/// AUTH runs on the event loops and must not wait for a database, so the gateway reads
/// apps from this snapshot. ``load(from:)`` fills it at start; the API adds an app here
/// right after the catalog stored it.
public final class AppRegistry: Sendable {
    private let apps = NIOLockedValueBox<[ByteString: App]>([:])

    public init(_ apps: [App] = []) {
        self.replaceAll(with: apps)
    }

    /// Replaces the snapshot with every app in `catalog`.
    public func load(from catalog: some AppCatalog) async throws {
        self.replaceAll(with: try await catalog.list())
    }

    public func replaceAll(with apps: [App]) {
        let byID = Dictionary(apps.map { (ByteString($0.id), $0) }, uniquingKeysWith: { _, last in last })
        self.apps.withLockedValue { $0 = byID }
    }

    public func upsert(_ app: App) {
        self.apps.withLockedValue { $0[ByteString(app.id)] = app }
    }

    public func app(id: String) -> App? {
        self.apps.withLockedValue { $0[ByteString(id)] }
    }

    public var count: Int {
        self.apps.withLockedValue { $0.count }
    }
}
