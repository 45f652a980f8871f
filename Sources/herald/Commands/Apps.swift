import ArgumentParser
import HeraldCommandLine

/// `herald apps create|list`: manage apps through the admin API.
struct Apps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and list apps (admin key required).",
        subcommands: [Create.self, List.self]
    )

    /// Options shared by the admin commands.
    struct AdminOptions: ParsableArguments {
        @OptionGroup var api: APIOptions
        @OptionGroup var tls: CAFileOption

        @Option(name: .customLong("admin-key"), help: "Admin key [HERALD_ADMIN_KEY, else <data-dir>/admin.key].")
        var adminKey: String?

        @Option(name: .customLong("data-dir"), help: "Data directory to read the admin key from [HERALD_DATA_DIR].")
        var dataDirectory: String?

        func client() throws -> HTTPClient {
            let directory = self.dataDirectory ?? Environment.string("HERALD_DATA_DIR") ?? "./herald-data"
            guard
                let key = try self.adminKey.map({ try AdminKey.validate($0, source: "--admin-key") })
                    ?? AdminKey.forLocalCommand(dataDirectory: directory)
            else {
                throw CLIError("give the admin key with --admin-key or HERALD_ADMIN_KEY")
            }
            return HTTPClient(baseURL: self.api.baseURL, bearer: key, caFile: self.tls.path)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an app and print its secret.")

        @Argument(help: "The app id: 1 to 64 of A-Z a-z 0-9 - _ .")
        var id: String

        @Option(help: "The app secret (default: a random one).")
        var secret: String?

        @Option(help: "Webhook URL for upstream data and user-state callbacks.")
        var webhook: String?

        @OptionGroup var admin: AdminOptions

        func run() async throws {
            var body: [String: Any] = ["id": self.id]
            if let secret { body["secret"] = secret }
            if let webhook { body["webhook"] = webhook }
            let json = try await self.admin.client().call("POST", "/v1/apps", body: body)
            print(HTTPClient.render(json))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the apps.")

        @OptionGroup var admin: AdminOptions

        func run() async throws {
            let json = try await self.admin.client().call("GET", "/v1/apps")
            print(HTTPClient.render(json))
        }
    }
}
