import Foundation
import HeraldClient
import HeraldTestUtils
import NIOCore
import NIOSSL
import Testing

/// SIGHUP reads the certificate files again: new connections get the new certificate, open
/// ones keep their session.
struct TLSReloadTests {
    @Test("After SIGHUP a new connection sees certificate B and the old one still receives pushes")
    func reloadOnSIGHUP() async throws {
        let first = try TestPKI(name: "CA of certificate A")
        let second = try TestPKI(name: "CA of certificate B")
        let a = try first.server("a")
        let b = try second.server("b")
        // The files the node reads, overwritten with B later.
        let certificate = first.directory.appendingPathComponent("serving.pem").path
        let key = first.directory.appendingPathComponent("serving.key").path
        try FileManager.default.copyItem(atPath: a.certificate, toPath: certificate)
        try FileManager.default.copyItem(atPath: a.key, toPath: key)
        let server = try await HeraldProcess.start(["--tcp-tls-cert", certificate, "--tcp-tls-key", key])
        let api = APIClient(server)
        let app = try await api.createApp(prefix: "reload")

        let old = ClientRun(
            HeraldClientConfiguration(
                transport: .tls(host: "127.0.0.1", port: server.tcpPort),
                token: TestTokens.sign(app: app.id, secret: app.secret, user: "alice"),
                tls: HeraldClientTLS(trustRoots: .pemFile(first.caFile))
            )
        )
        let connected = await old.next { if case .connected = $0 { true } else { false } }
        try #require(connected != nil, "the first client never connected")

        try FileManager.default.removeItem(atPath: certificate)
        try FileManager.default.removeItem(atPath: key)
        try FileManager.default.copyItem(atPath: b.certificate, toPath: certificate)
        try FileManager.default.copyItem(atPath: b.key, toPath: key)
        let pid = try #require(server.pid)
        #expect(kill(pid, SIGHUP) == 0)

        let expected = try NIOSSLCertificate.fromPEMFile(b.certificate)
        let servesB = await eventually(timeout: .seconds(20)) {
            (try? await TLSProbe.handshake(port: server.tcpPort, trusting: second.caFile)) == expected.first
        }
        #expect(servesB, "new connections never got certificate B")
        #expect(server.isRunning)
        #expect(server.standardError.contains("Reloaded the TLS certificate"))

        let pushed = try await api.push(app, users: ["alice"], payload: .text("after the reload"))
        #expect(pushed.sessions == 1)
        let event = await old.next { if case .push = $0 { true } else { false } }
        guard case .push(let push) = event else {
            Issue.record("the connection opened before the reload got no push")
            return
        }
        #expect(String(decoding: push.payload.readableBytesView, as: UTF8.self) == "after the reload")
        await old.stop()

        // A reload whose files are broken keeps the certificate in use.
        try "not a certificate".write(toFile: certificate, atomically: true, encoding: .utf8)
        #expect(kill(pid, SIGHUP) == 0)
        let logged = await eventually(timeout: .seconds(20)) {
            server.standardError.contains("The TLS reload failed and the previous certificate stays in use")
        }
        #expect(logged)
        #expect(try await TLSProbe.handshake(port: server.tcpPort, trusting: second.caFile) == expected.first)
        _ = try await server.terminate()
    }
}
