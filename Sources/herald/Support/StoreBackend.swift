import HeraldCommandLine
import HeraldCore
import HeraldPostgres
import HeraldSQLite
import Logging
import ServiceLifecycle

/// The store `herald serve` runs on: the embedded SQLite file, or a PostgreSQL server.
enum StoreBackend {
    case sqlite(SQLiteStore)
    case postgres(PostgresStore)

    /// Opens the store the settings name and brings its schema up to date.
    ///
    /// PostgreSQL's pool runs as a service, so it is started in `services` before the
    /// migration; SQLite needs no service.
    static func open(settings: ServeSettings, logger: Logger) async throws -> StoreBackend {
        if settings.usesPostgres {
            let store: PostgresStore
            let url = try PostgresURL.resolve(settings.store, passwordFile: settings.postgresPasswordFile)
            do {
                store = try PostgresStore(configuration: PostgresStore.Configuration(url: url), logger: logger)
            } catch {
                throw CLIError("invalid --store: \(error)")
            }
            return .postgres(store)
        }
        do {
            return .sqlite(try await SQLiteStore.open(directory: settings.dataDirectory, logger: logger))
        } catch {
            throw CLIError("cannot open the store in \(settings.dataDirectory): \(error)")
        }
    }

    /// The SQLite database file and the journal files SQLite keeps beside it.
    static let sqliteFiles = [SQLiteStore.fileName, SQLiteStore.fileName + "-wal", SQLiteStore.fileName + "-shm"]

    var catalog: any AppCatalog {
        switch self {
        case .sqlite(let store): store.catalog
        case .postgres(let store): store.catalog
        }
    }

    var messages: any MessageStore {
        switch self {
        case .sqlite(let store): store.messages
        case .postgres(let store): store.messages
        }
    }

    /// A short name for logs and the ready line.
    var name: String {
        switch self {
        case .sqlite: "sqlite"
        case .postgres: "postgres"
        }
    }

    /// Services the store needs running (PostgreSQL's connection pool).
    var services: [any Service] {
        switch self {
        case .sqlite: []
        case .postgres(let store): [store]
        }
    }

    /// Makes the schema current; on PostgreSQL this needs ``services`` running.
    func prepare() async throws {
        switch self {
        case .sqlite:
            break  // SQLiteStore.open migrated already.
        case .postgres(let store):
            do {
                try await store.migrate()
            } catch MessageStoreError.unavailable(let why) {
                // The pool says only that no connection came; one connection says why.
                throw CLIError(await store.connectionFailure() ?? "cannot prepare the PostgreSQL store: \(why)")
            } catch {
                throw CLIError("cannot prepare the PostgreSQL store: \(error)")
            }
        }
    }

    func close() async {
        switch self {
        case .sqlite(let store): try? await store.close()
        case .postgres: break  // The pool ends with its service.
        }
    }
}
