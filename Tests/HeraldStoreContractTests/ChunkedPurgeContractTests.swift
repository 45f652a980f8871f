import HeraldCore
import Logging
import NIOCore
import Testing

extension MessageStoreContract {
    /// The purge in bounded chunks: each call removes at most `chunk` rows of each kind, says
    /// whether more is left, and chunk after chunk ends where one unbounded purge ends.
    @Suite("Chunked purge")
    struct ChunkedPurgeContractTests {
        @Test(arguments: StoreKind.allCases)
        func chunksEndWhereOnePurgeEnds(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                for index in 1...4 {
                    try await store.push(app: app, users: ["alice", "bob"], "m\(index)", ttl: .seconds(30 + index))
                }
                try await store.push(app: app, users: ["alice"], "kept", ttl: .seconds(3600))
                try await store.acknowledge([InboxAcknowledgement(app: app, user: "alice", device: "phone", seq: 2)])
                for index in 1...5 {
                    _ = try await store.appendBroadcast(
                        app: app, payload: Fixture.payload("b\(index)"), ttl: .seconds(40), keep: 10, now: Fixture.t0)
                }

                var total = PurgeReport()
                var calls = 0
                repeat {
                    let report = try await store.purge(now: Fixture.at(61), deadLetterLimit: 100, chunk: 3)
                    #expect(report.deadLettered + report.expired <= 3)
                    #expect(report.broadcasts <= 3)
                    total.add(report)
                    calls += 1
                } while !total.isComplete && calls < 100
                #expect(total.isComplete)
                if kind.isIsolated {
                    // 8 expired messages (alice's 1 and 2 acknowledged) and 5 broadcasts:
                    // three chunks of messages, two of broadcasts, and the last call finds less.
                    #expect(total == PurgeReport(deadLettered: 6, expired: 2, broadcasts: 5))
                    #expect(calls == 3)
                } else {
                    #expect(total.deadLettered >= 6 && total.expired >= 2 && total.broadcasts >= 5)
                }

                let alice = try await store.replay(app: app, user: "alice", device: "phone", now: Fixture.at(61))
                #expect(alice.texts == ["kept"])
                #expect(alice.lostThrough == 4)
                #expect(try await store.replay(app: app, user: "bob", now: Fixture.at(61)).lostThrough == 4)
                let letters = try await store.deadLetters(app: app, before: nil, limit: 20).deadLetters
                #expect(letters.map { "\($0.user)\($0.seq)" }.sorted() == ["alice3", "alice4", "bob1", "bob2", "bob3", "bob4"])
                let log = try await store.broadcasts(app: app, after: 0, now: Fixture.at(61))
                #expect(log.messages.isEmpty)
                #expect(log.trimmedThrough == 5)
            }
        }

        /// The sweeper runs chunks until one finds less than a chunk.
        @Test(arguments: StoreKind.allCases)
        func theSweeperRunsChunksUntilNothingIsLeft(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                for index in 1...7 {
                    try await store.push(app: app, users: ["u\(index)"], "m", ttl: .seconds(10))
                }
                let sweeper = StoreSweeper(store: store, chunk: 2, logger: .init(label: "test"))
                let report = try await sweeper.sweep(now: Fixture.at(20))
                #expect(report.isComplete)
                if kind.isIsolated { #expect(report.deadLettered == 7) } else { #expect(report.deadLettered >= 7) }
                #expect(try await store.deadLetters(app: app, before: nil, limit: 20).deadLetters.count == 7)
            }
        }
    }
}
