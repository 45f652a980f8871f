import Foundation
import HeraldCore
import HeraldTesting
import Testing

@Suite struct LocalSessionDirectoryTests {
    static func session(_ app: String, _ user: String, _ device: String = "default", at second: Double = 0)
        -> SessionInfo
    {
        SessionInfo(
            app: app, user: user, device: device,
            id: SessionID(node: "n1", connection: 1, number: 1, generation: UInt64(second * 1000) + 1),
            since: Date(timeIntervalSince1970: 1_700_000_000 + second)
        )
    }

    @Test func emptyDirectory() async throws {
        let directory = LocalSessionDirectory()
        #expect(try await directory.counts(app: "demo") == SessionCounts(sessions: 0, users: 0))
        #expect(try await directory.sessions(app: "demo", user: "alice").isEmpty)
        // Unregistering what was never registered changes nothing.
        directory.unregister(Self.session("demo", "alice"))
        #expect(try await directory.counts(app: "demo") == SessionCounts(sessions: 0, users: 0))
    }

    @Test func canonicallyEquivalentUsersAndDevicesStayApart() async throws {
        let directory = LocalSessionDirectory()
        let composed = Self.session("demo", "zo\u{EB}", "\u{C5}", at: 1)
        let decomposed = Self.session("demo", "zoe\u{308}", "\u{C5}", at: 2)
        let otherDevice = Self.session("demo", "zo\u{EB}", "\u{212B}", at: 3)
        for session in [composed, decomposed, otherDevice] { directory.register(session) }
        #expect(composed != otherDevice)
        #expect(try await directory.counts(app: "demo") == SessionCounts(sessions: 3, users: 2))
        let composedSessions = try await directory.sessions(app: "demo", user: "zo\u{EB}")
        #expect(composedSessions.map(\.since) == [composed.since, otherDevice.since])
        #expect(try await directory.sessions(app: "demo", user: "zoe\u{308}").map(\.since) == [decomposed.since])
        directory.unregister(otherDevice)
        #expect(try await directory.sessions(app: "demo", user: "zo\u{EB}").map(\.since) == [composed.since])
    }

    @Test func severalUsersDevicesAndApps() async throws {
        let directory = LocalSessionDirectory()
        let alicePhone = Self.session("demo", "alice", "phone", at: 1)
        let aliceLaptop = Self.session("demo", "alice", "laptop", at: 2)
        let bob = Self.session("demo", "bob", at: 3)
        let aliceElsewhere = Self.session("other", "alice", "phone", at: 4)
        for session in [alicePhone, aliceLaptop, bob, aliceElsewhere] { directory.register(session) }

        #expect(try await directory.counts(app: "demo") == SessionCounts(sessions: 3, users: 2))
        #expect(try await directory.counts(app: "other") == SessionCounts(sessions: 1, users: 1))
        #expect(try await directory.counts(app: "none") == SessionCounts(sessions: 0, users: 0))
        // Oldest first.
        #expect(try await directory.sessions(app: "demo", user: "alice") == [alicePhone, aliceLaptop])
        #expect(try await directory.sessions(app: "other", user: "alice") == [aliceElsewhere])
        #expect(try await directory.sessions(app: "demo", user: "carol").isEmpty)

        directory.unregister(alicePhone)
        #expect(try await directory.counts(app: "demo") == SessionCounts(sessions: 2, users: 2))
        #expect(try await directory.sessions(app: "demo", user: "alice") == [aliceLaptop])
        directory.unregister(alicePhone)
        #expect(try await directory.counts(app: "demo") == SessionCounts(sessions: 2, users: 2))

        directory.unregister(aliceLaptop)
        #expect(try await directory.counts(app: "demo") == SessionCounts(sessions: 1, users: 1))
        #expect(try await directory.sessions(app: "demo", user: "alice").isEmpty)
        // Other apps are untouched.
        #expect(try await directory.counts(app: "other") == SessionCounts(sessions: 1, users: 1))

        directory.unregister(bob)
        directory.unregister(aliceElsewhere)
        #expect(try await directory.counts(app: "demo") == SessionCounts(sessions: 0, users: 0))
        #expect(try await directory.counts(app: "other") == SessionCounts(sessions: 0, users: 0))
    }

    @Test func sameDeviceTwiceCountsTwoSessions() async throws {
        // Replacement is the gateway's job; the directory records what it is told.
        let directory = LocalSessionDirectory()
        let first = Self.session("demo", "alice", "phone", at: 1)
        let second = Self.session("demo", "alice", "phone", at: 2)
        directory.register(first)
        directory.register(second)
        #expect(try await directory.counts(app: "demo") == SessionCounts(sessions: 2, users: 1))
        directory.unregister(first)
        #expect(try await directory.sessions(app: "demo", user: "alice") == [second])
        #expect(try await directory.counts(app: "demo") == SessionCounts(sessions: 1, users: 1))
    }

    @Test func concurrentRegistration() async throws {
        let directory = LocalSessionDirectory()
        let apps = ["a", "b", "c"]
        let users = 40
        let devices = 5
        let sessions = apps.flatMap { app in
            (0..<users).flatMap { user in (0..<devices).map { Self.session(app, "u\(user)", "d\($0)") } }
        }
        await withTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: sessions.count, by: 10) {
                group.addTask {
                    for session in sessions[chunk..<min(chunk + 10, sessions.count)] { directory.register(session) }
                }
            }
        }
        for app in apps {
            #expect(try await directory.counts(app: app) == SessionCounts(sessions: users * devices, users: users))
            #expect(try await directory.sessions(app: app, user: "u7").count == devices)
        }

        // Unregister every other device concurrently.
        let removed = sessions.filter { $0.device == "d0" || $0.device == "d2" }
        await withTaskGroup(of: Void.self) { group in
            for session in removed {
                group.addTask { directory.unregister(session) }
            }
        }
        for app in apps {
            #expect(
                try await directory.counts(app: app) == SessionCounts(sessions: users * (devices - 2), users: users))
        }

        await withTaskGroup(of: Void.self) { group in
            for session in sessions {
                group.addTask { directory.unregister(session) }
            }
        }
        for app in apps {
            #expect(try await directory.counts(app: app) == SessionCounts(sessions: 0, users: 0))
        }
    }
}
