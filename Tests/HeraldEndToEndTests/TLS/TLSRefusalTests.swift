import Foundation
import HeraldClient
import HeraldTestUtils
import Testing

/// What a client and the node itself refuse: a certificate for another host name, an
/// expired one, and, at start, files that cannot make a TLS context.
struct TLSRefusalTests {
    @Test("A certificate for another host name and an expired one fail the connection with a sentence")
    func wrongHostNameAndExpired() async throws {
        let pki = try TestPKI()
        let wrongHost = try pki.server("wrong-host", dnsNames: ["wrong.example"], ipAddresses: [])
        let expired = try pki.server("expired", notBefore: Date() - 172_800, notAfter: Date() - 86_400)
        // Each listener its own certificate, which also covers the per-listener flags.
        let server = try await HeraldProcess.start([
            "--tcp-tls-cert", wrongHost.certificate, "--tcp-tls-key", wrongHost.key,
            "--ws-tls-cert", expired.certificate, "--ws-tls-key", expired.key,
            "--api-tls-cert", wrongHost.certificate, "--api-tls-key", wrongHost.key,
        ])
        #expect(server.standardOutput.contains(" tls=tcp,ws,api"))
        let trust = HeraldClientTLS(trustRoots: .pemFile(pki.caFile))
        let token = TestTokens.sign(app: "any", secret: "any", user: "alice")

        let tcp = ClientRun(HeraldClientConfiguration(transport: .tls(host: "127.0.0.1", port: server.tcpPort), token: token, tls: trust))
        #expect(await tcp.firstConnectFailure() == "the TLS certificate of 127.0.0.1 is not valid for that host name")
        await tcp.stop()

        let webSocket = ClientRun(
            HeraldClientConfiguration(
                transport: .webSocket(url: "wss://localhost:\(server.webSocketPort)/ws"), token: token, tls: trust))
        let expiredReason = await webSocket.firstConnectFailure()
        #expect(expiredReason?.hasPrefix("the TLS certificate of localhost was not accepted: it is expired") == true, "\(expiredReason ?? "connected")")
        await webSocket.stop()

        let listed = try await HeraldCommand.run([
            "apps", "list", "--api", "https://localhost:\(server.apiPort)", "--ca-file", pki.caFile,
            "--admin-key", server.adminKey,
        ])
        #expect(listed.status != 0)
        #expect(listed.error.contains("the TLS certificate of localhost is not valid for that host name"), "\(listed.error)")
        _ = try await server.terminate()
    }

    @Test("herald serve reaches PostgreSQL with sslmode=verify-full, and a CA that did not sign its certificate stops the start with a sentence")
    func postgresVerifyFull() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["HERALD_TEST_POSTGRES_URL"], let ca = environment["HERALD_TEST_POSTGRES_CA"] else {
            throw HeraldProcessError("HERALD_TEST_POSTGRES_URL and _CA are not set: run the tests with scripts/test")
        }
        let schema = "tls_\(UUID().uuidString.prefix(8).lowercased())"
        let server = try await HeraldProcess.start(["--store", "\(url)?schema=\(schema)&sslmode=verify-full&sslrootcert=\(ca)"])
        _ = try await APIClient(server).createApp(prefix: "pg-tls")
        _ = try await server.terminate()

        let unrelated = try TestPKI(name: "Not PostgreSQL's CA")
        do {
            let refused = try await HeraldProcess.start(["--store", "\(url)?sslmode=verify-full&sslrootcert=\(unrelated.caFile)"])
            Issue.record("herald reached PostgreSQL through a CA that did not sign its certificate")
            _ = try? await refused.terminate()
        } catch let error as HeraldProcessError {
            #expect(
                error.standardError.contains("the TLS certificate of 127.0.0.1 was not accepted"), "\(error.standardError)")
        }
    }

    @Test("A key that does not belong to its certificate, or a missing file, stops the start with a sentence")
    func badFilesStopTheStart() async throws {
        let pki = try TestPKI()
        let first = try pki.server("first")
        let second = try pki.server("second")
        let cases: [([String], String)] = [
            (["--tls-cert", first.certificate, "--tls-key", second.key], "does not belong to the certificate"),
            (["--tls-cert", pki.directory.appendingPathComponent("missing.pem").path, "--tls-key", first.key],
             "cannot read the TLS certificate"),
            (["--tls-cert", first.certificate], "has a TLS certificate but no key"),
        ]
        for (arguments, sentence) in cases {
            do {
                let server = try await HeraldProcess.start(arguments)
                Issue.record("herald started with \(arguments)")
                _ = try? await server.terminate()
            } catch let error as HeraldProcessError {
                #expect(error.standardError.contains(sentence), "\(error.standardError)")
            }
        }
    }
}
