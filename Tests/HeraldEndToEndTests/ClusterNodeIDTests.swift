import Foundation
import HeraldTestUtils
import Testing

extension ClusterEndToEnd {
    /// One process per node id: a second node given a running node's id refuses to start,
    /// and a node restarted under its id after kill -9 waits for its old lease to lapse.
    @Suite("One node per id", .serialized, .timeLimit(.minutes(3)))
    struct ClusterNodeIDTests {
        @Test("A second node given a running node's id refuses to start with a sentence, and the first keeps serving")
        func secondNodeIsRefused() async throws {
            let nodes = try await ClusterHarness.startNodes(1, leaseTTL: "2")
            try await ClusterHarness.finally({ await ClusterHarness.stop(nodes) }) {
                let first = nodes[0]
                let app = try await APIClient(first).createApp(prefix: "nodeid")
                let client = try await ClusterHarness.client(on: first, app: app, user: "ann", issuer: first)
                do {
                    let second = try await HeraldProcess.start(first.extraArguments)
                    _ = try? await second.kill()
                    Issue.record("a second node started with the id \(first.node)")
                } catch let error as HeraldProcessError {
                    #expect(error.message.contains("herald exited (exit status "), "\(error.message)")
                    #expect(!error.message.contains("exit status 0)"), "\(error.message)")
                    #expect(
                        error.standardError.contains("Another running node holds the node id \"\(first.node)\""),
                        "\(error.standardError)")
                }
                // The first still serves: dispatch offers it, and a push reaches its client.
                #expect(try await ClusterHarness.dispatched(app, user: "ann", by: first) == [first.node])
                _ = try await APIClient(first).push(app, users: ["ann"], payload: .text("still"))
                #expect(try await client.receivePush().body.payloadBytes == Array("still".utf8))
                await client.close()
                _ = try await first.terminate()
            }
        }

        @Test("A node restarted under its id right after kill -9 waits for its old lease to lapse, then serves")
        func restartAfterKill() async throws {
            // A lease long enough that the restarted process finds the old one still current.
            let nodes = try await ClusterHarness.startNodes(2, leaseTTL: "8")
            try await ClusterHarness.finally({ await ClusterHarness.stop(nodes) }) {
                let (a, b) = (nodes[0], nodes[1])
                let app = try await APIClient(a).createApp(prefix: "restart")
                let old = try await ClusterHarness.client(on: b, app: app, user: "ben", issuer: a)
                #expect(await ClusterHarness.online(app, user: "ben", sessions: 1, asking: a))

                _ = try await b.kill()
                try await b.restart()
                #expect(
                    b.standardError.contains("waited for the lease a stopped process left on its id to lapse"),
                    "\(b.standardError)")
                // The killed process's session is forgotten, and the node serves again.
                #expect(await ClusterHarness.online(app, user: "ben", sessions: 0, asking: a))
                let again = try await ClusterHarness.client(on: b, app: app, user: "ben", issuer: a)
                #expect(await ClusterHarness.online(app, user: "ben", sessions: 1, asking: a))
                _ = try await APIClient(a).push(app, users: ["ben"], payload: .text("back"))
                #expect(try await again.receivePush().body.payloadBytes == Array("back".utf8))
                await again.close()
                await old.close()
                for node in nodes { _ = try await node.terminate() }
            }
        }
    }
}
