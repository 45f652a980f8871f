import HeraldCore
import HeraldPostgres
import HeraldTestUtils
import NIOCore
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// PostgreSQL going away and coming back, on a server of the test's own (stopping the
/// shared one would fail every other test that uses it at the time).
@Suite("PostgreSQL outages")
struct PostgresFaultTests {
    static func append(_ store: PostgresStore, app: String) async throws -> UInt32 {
        let result = try await store.messages.appendInbox(
            InboxAppend(
                app: app,
                messages: [InboxMessage(users: ["u"], payload: ByteBuffer(string: "m"), ttl: .seconds(600))],
                inboxLimit: 100,
                now: .now
            )
        )
        return result.messages[0][0].seq
    }

    /// Runs `call` and returns how long it took to throw ``MessageStoreError/unavailable(_:)``.
    static func timeToUnavailable(_ call: () async throws -> Void) async -> Duration? {
        let start = ContinuousClock.now
        do {
            try await call()
            Issue.record("the call succeeded while PostgreSQL was stopped")
            return nil
        } catch MessageStoreError.unavailable {
            return ContinuousClock.now - start
        } catch {
            Issue.record("expected MessageStoreError.unavailable, got \(error)")
            return nil
        }
    }

    @Test(
        "with the server stopped calls fail fast with .unavailable; once it is back the same store works",
        .timeLimit(.minutes(3)))
    func serverStoppedAndRestarted() async throws {
        let cluster = try await PostgresTestCluster.start()
        do {
            var configuration = try PostgresStore.Configuration(url: cluster.url)
            configuration.leaseTimeout = .seconds(2)
            configuration.callTimeout = .seconds(5)
            try await PostgresTestEnvironment.withStore(configuration) { store in
                let app = PostgresTestEnvironment.appID("fault")
                // The 2 s lease is for the outage below; a loaded machine may take longer to
                // open the first connection to a server that just started, so wait for it
                // with a read, which leaves nothing behind if it times out.
                let reachable = await eventually(timeout: .seconds(60), interval: .milliseconds(250)) {
                    (try? await store.catalog.list()) != nil
                }
                try #require(reachable, "the new PostgreSQL server did not answer within 60 s")
                #expect(try await Self.append(store, app: app) == 1)

                try await cluster.stopServer()

                let bound = Duration.seconds(6)
                let calls: [(String, () async throws -> Void)] = [
                    ("appendInbox", { _ = try await Self.append(store, app: app) }),
                    (
                        "inbox",
                        { _ = try await store.messages.inbox(app: app, user: "u", device: "d", after: 0, now: .now) }
                    ),
                    (
                        "appendBroadcast",
                        {
                            _ = try await store.messages.appendBroadcast(
                                app: app, payload: .init(), ttl: .seconds(5), keep: 5, now: .now)
                        }
                    ),
                    (
                        "acknowledge",
                        { try await store.messages.acknowledge([.init(app: app, user: "u", device: "d", seq: 1)]) }
                    ),
                    ("purge", { _ = try await store.messages.purge(now: .now, deadLetterLimit: 10) }),
                    ("catalog.list", { _ = try await store.catalog.list() }),
                ]
                for (name, call) in calls {
                    if let elapsed = await Self.timeToUnavailable(call) {
                        #expect(elapsed < bound, "\(name) took \(elapsed) to fail")
                    }
                }
                // Many calls at once while down: all fail, none hangs.
                let start = ContinuousClock.now
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            await #expect(throws: MessageStoreError.self) { _ = try await Self.append(store, app: app) }
                        }
                    }
                }
                #expect(ContinuousClock.now - start < bound)

                try await cluster.startServer()

                var seq: UInt32?
                let recovered = await eventually(timeout: .seconds(60), interval: .milliseconds(250)) {
                    seq = try? await Self.append(store, app: app)
                    return seq != nil
                }
                #expect(recovered, "the store did not recover within 60 s of PostgreSQL's restart")
                // Nothing that failed was stored: the sequence goes on from the last success.
                #expect(seq == 2)
                #expect(try await store.messages.lastInboxSequence(app: app, user: "u") == 2)
            }
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }
}
