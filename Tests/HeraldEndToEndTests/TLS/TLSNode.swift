import Foundation
import HeraldClient
import HeraldTestUtils
import Testing

/// A node that serves TLS on every listener with a certificate for 127.0.0.1 and localhost,
/// signed by a CA of its own; a suite shares one through ``TLSNodeTrait``.
final class TLSNode: Sendable {
    /// The node the running suite shares.
    @TaskLocal static var shared: TLSNode?

    let pki: TestPKI
    let server: HeraldProcess

    init() async throws {
        self.pki = try TestPKI()
        let identity = try self.pki.server("node")
        self.server = try await HeraldProcess.start(["--tls-cert", identity.certificate, "--tls-key", identity.key])
    }

    /// The suite's node; fails the test outside a suite with ``TLSNodeTrait``.
    static func current() throws -> TLSNode {
        try #require(Self.shared, "the suite needs the .tlsNode trait")
    }

    /// The API's base URL, by host name so that the certificate's DNS name is checked.
    var apiURL: String { "https://localhost:\(self.server.apiPort)" }

    /// `herald <command> --api <https URL> --ca-file <CA>` followed by `arguments`.
    func command(_ command: [String], _ arguments: [String], caFile: String? = nil) async throws -> HeraldCommand {
        try await HeraldCommand.run(command + ["--api", self.apiURL, "--ca-file", caFile ?? self.pki.caFile] + arguments)
    }

    /// A new app, created over HTTPS by `herald apps create`.
    func createApp(prefix: String) async throws -> AppCredentials {
        let app = AppCredentials(id: "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())", secret: "secret-" + UUID().uuidString)
        let created = try await self.command(
            ["apps", "create", app.id], ["--admin-key", self.server.adminKey, "--secret", app.secret])
        try #require(created.status == 0, "herald apps create failed: \(created.error)")
        return app
    }

    /// A client of `app` for `user` over `transport`, trusting the node's CA.
    func client(_ transport: HeraldClientConfiguration.Transport, app: AppCredentials, user: String) -> ClientRun {
        ClientRun(
            HeraldClientConfiguration(
                transport: transport,
                token: TestTokens.sign(app: app.id, secret: app.secret, user: user),
                tls: HeraldClientTLS(trustRoots: .pemFile(self.pki.caFile))
            )
        )
    }
}

/// Runs a suite against one ``TLSNode``, stopped when the suite ends.
struct TLSNodeTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let node = try await TLSNode()
        try await TLSNode.$shared.withValue(node) {
            try await function()
        }
        _ = try? await node.server.terminate()
    }
}

extension Trait where Self == TLSNodeTrait {
    /// One TLS node for the whole suite.
    static var tlsNode: Self { TLSNodeTrait() }
}
