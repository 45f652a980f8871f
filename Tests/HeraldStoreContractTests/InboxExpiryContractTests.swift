import HeraldCore
import NIOCore
import Testing

extension MessageStoreContract {
    /// TTL, the sweeper's purge, and dead letters of expired messages.
    @Suite("Inbox expiry and purge")
    struct InboxExpiryContractTests {
        @Test(arguments: StoreKind.allCases)
        func expiredMessagesAreNotReplayedAndCountAsLostBeforeThePurge(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                try await store.push(app: app, users: ["u"], "short", ttl: .seconds(60))
                try await store.push(app: app, users: ["u"], "long", ttl: .seconds(600))

                let early = try await store.replay(app: app, user: "u", now: Fixture.at(59))
                #expect(early.texts == ["short", "long"])
                #expect(early.lostThrough == 0)

                // Expiry is at now + ttl exactly: a message is kept while expires_at > now.
                let atExpiry = try await store.replay(app: app, user: "u", now: Fixture.at(60))
                #expect(atExpiry.texts == ["long"])
                #expect(atExpiry.lostThrough == 1)
                #expect(atExpiry.lastSequence == 2)

                let late = try await store.replay(app: app, user: "u", now: Fixture.at(600))
                #expect(late.messages.isEmpty)
                #expect(late.lostThrough == 2)
            }
        }

        /// The purge turns unacknowledged expired messages into dead letters and removes
        /// acknowledged ones silently; either way the lost watermark rises.
        @Test(arguments: StoreKind.allCases)
        func purgeDeadLettersOnlyWhatNoDeviceAcknowledged(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                for index in 1...3 {
                    try await store.push(app: app, users: ["alice", "bob"], "m\(index)", ttl: .seconds(60))
                }
                try await store.push(app: app, users: ["alice"], "kept", ttl: .seconds(3600))
                // One of alice's devices saw through 2; another saw nothing.
                try await store.acknowledge([
                    InboxAcknowledgement(app: app, user: "alice", device: "phone", seq: 2),
                    InboxAcknowledgement(app: app, user: "alice", device: "laptop", seq: 0),
                ])

                let report = try await store.purge(now: Fixture.at(61), deadLetterLimit: 100)
                // alice: 1, 2 acknowledged, 3 dead; bob: 1, 2, 3 dead.
                if kind.isIsolated {
                    #expect(report == PurgeReport(deadLettered: 4, expired: 2))
                } else {
                    #expect(report.deadLettered >= 4 && report.expired >= 2)
                }

                let alice = try await store.replay(app: app, user: "alice", device: "laptop", now: Fixture.at(61))
                #expect(alice.texts == ["kept"])
                #expect(alice.lostThrough == 3)
                #expect(alice.lastSequence == 4)
                #expect(try await store.replay(app: app, user: "bob", now: Fixture.at(61)).lostThrough == 3)

                let page = try await store.deadLetters(app: app, before: nil, limit: 10)
                #expect(page.next == nil)
                #expect(page.deadLetters.map(\.user).sorted() == ["alice", "bob", "bob", "bob"])
                #expect(page.deadLetters.allSatisfy { $0.reason == .expired && $0.app == app })
                #expect(page.deadLetters.allSatisfy { $0.createdAt == Fixture.t0 && $0.diedAt == Fixture.at(61) })
                let aliceLetter = page.deadLetters.first { $0.user == "alice" }
                #expect(aliceLetter?.seq == 3)
                #expect(aliceLetter.map { String(buffer: $0.payload) } == "m3")
                #expect(page.deadLetters.filter { $0.user == "bob" }.map(\.seq).sorted() == [1, 2, 3])

                // A second pass finds nothing more of this app.
                let again = try await store.purge(now: Fixture.at(61), deadLetterLimit: 100)
                if kind.isIsolated { #expect(again == PurgeReport()) }
                #expect(try await store.deadLetters(app: app, before: nil, limit: 10).deadLetters.count == 4)
            }
        }

        @Test(arguments: StoreKind.allCases)
        func messagesThatKeepNoDeadLetterAreDropped(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                try await store.push(app: app, users: ["u"], "drop", ttl: .seconds(30), keepsDeadLetter: false)
                try await store.push(app: app, users: ["u"], "keep", ttl: .seconds(30), keepsDeadLetter: true)
                let report = try await store.purge(now: Fixture.at(30), deadLetterLimit: 100)
                if kind.isIsolated {
                    #expect(report == PurgeReport(deadLettered: 1, expired: 1))
                }
                let letters = try await store.deadLetters(app: app, before: nil, limit: 10).deadLetters
                #expect(letters.map(\.seq) == [2])
                #expect(try await store.replay(app: app, user: "u", now: Fixture.at(30)).lostThrough == 2)
            }
        }

        @Test(arguments: StoreKind.allCases)
        func purgeLeavesUnexpiredMessages(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                try await store.push(app: app, users: ["u"], "a", ttl: .seconds(100))
                _ = try await store.purge(now: Fixture.at(99), deadLetterLimit: 100)
                let replay = try await store.replay(app: app, user: "u", now: Fixture.at(99))
                #expect(replay.texts == ["a"])
                #expect(replay.lostThrough == 0)
                #expect(try await store.deadLetters(app: app, before: nil, limit: 10).deadLetters.isEmpty)
            }
        }
    }
}
