import Foundation
import HeraldRESP
import HeraldRedis
import HeraldTestUtils
import HeraldWire
import Logging
import NIOCore
import Testing

extension ClusterEndToEnd {
    /// A cluster on a Redis reached over TLS (`rediss://`), with a Redis of the test's own that
    /// serves a certificate made for it.
    @Suite("Cluster on Redis over TLS", .serialized, .timeLimit(.minutes(3)))
    struct ClusterRedisTLSTests {
        @Test("two nodes on rediss:// with the CA given: commands and the bus go over TLS, a push crosses nodes")
        func nodesOverTLS() async throws {
            let pki = try TestPKI()
            let identity = try pki.server("redis")
            let redis = try await TestRedisServer.start(password: "tls-\(UInt32.random(in: 0...UInt32.max))", tls: identity)
            try await ClusterHarness.finally({ await redis.remove() }) {
                let tlsPort = try #require(redis.tlsPort)
                let url = "rediss://:\(redis.password)@127.0.0.1:\(tlsPort)?cacert=\(pki.caFile)"
                let nodes = try await ClusterHarness.startNodes(2, redis: [url])
                try await ClusterHarness.finally({ await ClusterHarness.stop(nodes) }) {
                    let (a, b) = (nodes[0], nodes[1])
                    let app = try await APIClient(a).createApp(prefix: "tls")
                    let onB = try await ClusterHarness.client(on: b, app: app, user: "tia", issuer: a)
                    #expect(await ClusterHarness.online(app, user: "tia", sessions: 1, asking: a))
                    _ = try await APIClient(a).push(app, users: ["tia"], payload: .text("over tls"))
                    #expect(try await onB.receivePush().body.payloadBytes == Array("over tls".utf8))
                    // The nodes' leases are in that Redis: they registered through the TLS port.
                    let leases = try await redis.send(RESPCommand("KEYS", "*:{nodes}:lease:*")).elements?.count
                    #expect(leases == 2)
                }
            }
        }

        @Test("a Redis whose certificate another CA signed is refused with a sentence; with its own CA the same server answers")
        func untrustedCertificate() async throws {
            let pki = try TestPKI()
            let identity = try pki.server("redis")
            let stranger = try TestPKI(name: "Another CA")
            let redis = try await TestRedisServer.start(password: "tls-\(UInt32.random(in: 0...UInt32.max))", tls: identity)
            try await ClusterHarness.finally({ await redis.remove() }) {
                let tlsPort = try #require(redis.tlsPort)
                var configuration = try RedisConfiguration(
                    url: "rediss://:\(redis.password)@127.0.0.1:\(tlsPort)?cacert=\(stranger.caFile)")
                configuration.backoff = RedisBackoff(
                    initial: .milliseconds(20), maximum: .milliseconds(100), maximumAttempts: 1)
                configuration.connectTimeout = .seconds(2)
                let refused = RedisClient(configuration: configuration, logger: .init(label: "test.redis"))
                do {
                    _ = try await refused.send(RESPCommand("PING"))
                    Issue.record("a certificate from an untrusted CA was accepted")
                } catch let error as RedisClientError {
                    #expect(error.code == .connectFailed)
                    #expect(error.description.contains("was not accepted"), "\(error)")
                }
                await refused.close()

                configuration.tls = RedisTLS(caFile: pki.caFile)
                let trusted = RedisClient(configuration: configuration, logger: .init(label: "test.redis"))
                #expect(try await trusted.send(RESPCommand("PING")).string == "PONG")
                await trusted.close()
            }
        }

        @Test("a node given a CA file it cannot read refuses to start with a sentence")
        func unreadableCAFile() async throws {
            let stores = try ClusterHarness.sharedStores()
            do {
                let node = try await HeraldProcess.start([
                    "--store", stores.postgres, "--redis", "rediss://127.0.0.1:6380?cacert=/nonexistent/redis-ca.pem",
                ])
                _ = try? await node.kill()
                Issue.record("a node started with an unreadable CA file")
            } catch let error as HeraldProcessError {
                #expect(!error.message.contains("exit status 0)"), "\(error.message)")
                #expect(
                    error.standardError.contains("cannot read the CA certificates in /nonexistent/redis-ca.pem"),
                    "\(error.standardError)")
            }
        }
    }
}
