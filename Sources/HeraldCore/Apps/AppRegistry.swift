import NIOConcurrencyHelpers

/// The apps this node knows, readable synchronously from an event loop.
///
/// AUTH runs on the event loops and must not wait for a database, so the gateway reads
/// apps from this snapshot. ``load(from:)`` fills it at start; the API adds an app here
/// right after the catalog stored it.
///
/// The snapshot is also a negative cache: an id it lacks is unknown, without asking the
/// catalog, until the snapshot is ``refreshInterval`` old. Then one lookup that misses
/// reloads it (apps another node made appear that way), so however many requests name
/// apps that do not exist, the catalog is read at most once per interval.
public final class AppRegistry: Sendable {
    private struct State {
        var apps: [ByteString: App] = [:]
        /// When the snapshot last matched the catalog.
        var loadedAt = ContinuousClock.now
        /// Whether a reload is under way; misses meanwhile answer from the snapshot.
        var reloading = false
    }

    private let state = NIOLockedValueBox(State())
    /// The shortest time between two reloads caused by lookups of unknown ids.
    public let refreshInterval: Duration

    /// Creates a registry holding `apps`, as fresh as a reload.
    public init(_ apps: [App] = [], refreshInterval: Duration = .seconds(10)) {
        self.refreshInterval = refreshInterval
        self.replaceAll(with: apps)
    }

    /// Replaces the snapshot with every app in `catalog`.
    public func load(from catalog: some AppCatalog) async throws {
        self.replaceAll(with: try await catalog.list())
    }

    public func replaceAll(with apps: [App]) {
        let byID = Dictionary(apps.map { (ByteString($0.id), $0) }, uniquingKeysWith: { _, last in last })
        self.state.withLockedValue {
            $0.apps = byID
            $0.loadedAt = .now
        }
    }

    public func upsert(_ app: App) {
        self.state.withLockedValue { $0.apps[ByteString(app.id)] = app }
    }

    /// Forgets the app with `id` (deleted on another node).
    public func remove(id: String) {
        self.state.withLockedValue { $0.apps[ByteString(id)] = nil }
    }

    /// The app with `id` from the snapshot; nil if it is not there.
    public func app(id: String) -> App? {
        self.state.withLockedValue { $0.apps[ByteString(id)] }
    }

    /// The app with `id`: from the snapshot, or, when the snapshot lacks it and is older than
    /// ``refreshInterval``, after reloading the snapshot from `catalog` (one reload at a time).
    public func lookup(id: String, in catalog: some AppCatalog) async throws -> App? {
        let shouldReload: Bool = self.state.withLockedValue { state in
            if state.apps[ByteString(id)] != nil || state.reloading { return false }
            guard ContinuousClock.now - state.loadedAt >= self.refreshInterval else { return false }
            state.reloading = true
            return true
        }
        guard shouldReload else { return self.app(id: id) }
        do {
            let apps = try await catalog.list()
            self.state.withLockedValue { state in
                // Apps added while the list was read stay; the list may predate them.
                for app in apps { state.apps[ByteString(app.id)] = app }
                state.loadedAt = .now
                state.reloading = false
            }
        } catch {
            // A store that fails is not asked again before the interval either.
            self.state.withLockedValue {
                $0.loadedAt = .now
                $0.reloading = false
            }
            throw error
        }
        return self.app(id: id)
    }

    public var count: Int {
        self.state.withLockedValue { $0.apps.count }
    }
}
