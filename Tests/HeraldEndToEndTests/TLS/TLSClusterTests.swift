import Foundation
import HeraldClient
import HeraldTestUtils
import NIOCore
import Testing

extension ClusterEndToEnd {
    /// Two cluster nodes serving TLS on every listener: each node's lease hands out its
    /// `tls://` and `wss://` endpoints, so dispatch on either node names both that way, and a
    /// push made through one node's HTTPS API reaches a client that dispatch sent to the other.
    @Suite("TLS in cluster mode", .timeLimit(.minutes(2)))
    struct TLSClusterTests {
        @Test("dispatch names both nodes' TLS endpoints and a push crosses to a TLS client on the other node")
        func dispatchAndCrossNodePush() async throws {
            let pki = try TestPKI()
            let identity = try pki.server("node")
            let nodes = try await ClusterHarness.startNodes(
                2, arguments: ["--tls-cert", identity.certificate, "--tls-key", identity.key])
            let names = nodes.map(\.node)
            // A node left running by a failure is killed when its HeraldProcess goes away.
            let (first, second) = (nodes[0], nodes[1])

            let app = AppCredentials(
                id: "tls-cluster-\(UUID().uuidString.prefix(8).lowercased())", secret: "secret-" + UUID().uuidString)
            let created = try await HeraldCommand.run([
                "apps", "create", app.id, "--api", "https://localhost:\(first.apiPort)", "--ca-file", pki.caFile,
                "--admin-key", first.adminKey, "--secret", app.secret,
            ])
            try #require(created.status == 0, "herald apps create failed: \(created.error)")

            // Both leases are in once dispatch on the first node offers both nodes.
            var endpoints: [[String: String]] = []
            let both = await eventually(timeout: .seconds(15)) {
                guard
                    let answer = try? await TLSProbe.get(
                        "/v1/dispatch?app=\(app.id)&user=erin", bearer: app.secret, port: first.apiPort,
                        trusting: pki.caFile)
                else { return false }
                endpoints = Self.endpoints(inResponse: answer)
                return Set(endpoints.compactMap { $0["node"] }) == Set(names)
            }
            try #require(both, "dispatch never offered both nodes: \(endpoints)")
            for endpoint in endpoints {
                #expect(endpoint["tcp"]?.hasPrefix("tls://") == true, "\(endpoint)")
                #expect(endpoint["ws"]?.hasPrefix("wss://") == true, "\(endpoint)")
            }

            // The client goes where dispatch says the second node is, over TLS.
            let secondTCP = try #require(endpoints.first { $0["node"] == names[1] }?["tcp"])
            let port = try #require(secondTCP.split(separator: ":").last.flatMap { Int($0) })
            #expect(port == second.tcpPort)
            let client = ClientRun(
                HeraldClientConfiguration(
                    transport: .tls(host: "127.0.0.1", port: port),
                    token: TestTokens.sign(app: app.id, secret: app.secret, user: "erin"),
                    tls: HeraldClientTLS(trustRoots: .pemFile(pki.caFile))
                ))
            let connected = await client.next { if case .connected = $0 { true } else { false } }
            try #require(connected != nil, "the client never connected to the second node")

            // Pushed through the first node's HTTPS API once the directory lists the session.
            var pushedOutput = ""
            let delivered = await eventually(timeout: .seconds(10)) {
                guard
                    let pushed = try? await HeraldCommand.run([
                        "push", "--api", "https://localhost:\(first.apiPort)", "--ca-file", pki.caFile, "--app", app.id,
                        "--secret", app.secret, "--user", "erin", "across nodes over TLS",
                    ])
                else { return false }
                pushedOutput = pushed.output + pushed.error
                return pushed.status == 0 && pushed.output.contains("\"sessions\" : 1")
            }
            try #require(delivered, "the push never counted the session on the other node: \(pushedOutput)")
            let event = await client.next { if case .push = $0 { true } else { false } }
            guard case .push(let push) = event else {
                Issue.record("no push arrived on the second node")
                return
            }
            #expect(String(decoding: push.payload.readableBytesView, as: UTF8.self) == "across nodes over TLS")
            await client.stop()
            for node in nodes { _ = try await node.terminate() }
        }

        /// The `endpoints` of a dispatch answer, from the whole HTTP response.
        static func endpoints(inResponse response: String) -> [[String: String]] {
            guard let start = response.range(of: "\r\n\r\n")?.upperBound,
                let object = try? JSONSerialization.jsonObject(with: Data(response[start...].utf8)) as? [String: Any],
                let endpoints = object["endpoints"] as? [[String: Any]]
            else { return [] }
            return endpoints.map { $0.compactMapValues { $0 as? String } }
        }
    }
}
