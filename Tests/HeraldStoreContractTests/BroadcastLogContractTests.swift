import HeraldCore
import NIOCore
import Testing

extension MessageStoreContract {
    /// The per-app broadcast sequence and log.
    @Suite("Broadcast log")
    struct BroadcastLogContractTests {
        @Test(arguments: StoreKind.allCases)
        func sequencesArePerAppAndTheLogKeepsTheNewest(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                let other = Fixture.uniqueApp()
                #expect(try await store.lastBroadcastSequence(app: app) == 0)
                for index in 1...5 {
                    let seq = try await store.appendBroadcast(
                        app: app, payload: Fixture.payload("b\(index)"), ttl: .seconds(60), keep: 3, now: Fixture.t0)
                    #expect(seq == UInt32(index))
                }
                #expect(
                    try await store.appendBroadcast(
                        app: other, payload: Fixture.payload("x"), ttl: .seconds(60), keep: 3, now: Fixture.t0)
                        == 1)
                #expect(try await store.lastBroadcastSequence(app: app) == 5)

                let log = try await store.broadcasts(app: app, after: 0, now: Fixture.t0)
                #expect(log.texts == ["b3", "b4", "b5"])
                #expect(log.sequences == [3, 4, 5])
                #expect(log.lastSequence == 5)
                #expect(log.trimmedThrough == 2)
                #expect(try await store.broadcasts(app: app, after: 4, now: Fixture.t0).sequences == [5])
                #expect(try await store.broadcasts(app: app, after: 5, now: Fixture.t0).sequences == [])

                let otherLog = try await store.broadcasts(app: other, after: 0, now: Fixture.t0)
                #expect(
                    otherLog
                        == BroadcastReplay(
                            messages: [StoredMessage(seq: 1, payload: Fixture.payload("x"))], lastSequence: 1,
                            trimmedThrough: 0))
                #expect(
                    try await store.broadcasts(app: Fixture.uniqueApp(), after: 0, now: Fixture.t0)
                        == BroadcastReplay(messages: [], lastSequence: 0, trimmedThrough: 0))
            }
        }

        @Test(arguments: StoreKind.allCases)
        func expiredBroadcastsAreTrimmedBeforeAndByThePurge(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                _ = try await store.appendBroadcast(
                    app: app, payload: Fixture.payload("a"), ttl: .seconds(60), keep: 10, now: Fixture.t0)
                _ = try await store.appendBroadcast(
                    app: app, payload: Fixture.payload("b"), ttl: .seconds(60), keep: 10, now: Fixture.at(30))

                let before = try await store.broadcasts(app: app, after: 0, now: Fixture.at(60))
                #expect(before.texts == ["b"])
                #expect(before.trimmedThrough == 1)

                let report = try await store.purge(now: Fixture.at(60), deadLetterLimit: 100)
                if kind.isIsolated {
                    #expect(report == PurgeReport(broadcasts: 1))
                } else {
                    #expect(report.broadcasts >= 1)
                }
                let after = try await store.broadcasts(app: app, after: 0, now: Fixture.at(60))
                #expect(after == before)

                let late = try await store.broadcasts(app: app, after: 0, now: Fixture.at(90))
                #expect(late.messages.isEmpty)
                #expect(late.trimmedThrough == 2)
                #expect(late.lastSequence == 2)
                // The sequence goes on after everything left the log.
                _ = try await store.purge(now: Fixture.at(90), deadLetterLimit: 100)
                #expect(
                    try await store.appendBroadcast(
                        app: app, payload: Fixture.payload("c"), ttl: .seconds(60), keep: 10, now: Fixture.at(90))
                        == 3)
            }
        }

        /// `keep` counts the rows still in the log: one that expired and was purged leaves room
        /// for an older one with a longer TTL.
        @Test(arguments: StoreKind.allCases)
        func theLogKeepsTheNewestRowsStillThere(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                for (text, ttl) in [("long", 600), ("short", 60), ("later", 600)] {
                    _ = try await store.appendBroadcast(
                        app: app, payload: Fixture.payload(text), ttl: .seconds(ttl), keep: 3, now: Fixture.t0)
                }
                _ = try await store.purge(now: Fixture.at(90), deadLetterLimit: 100)
                _ = try await store.appendBroadcast(
                    app: app, payload: Fixture.payload("new"), ttl: .seconds(600), keep: 3, now: Fixture.at(90))
                let log = try await store.broadcasts(app: app, after: 0, now: Fixture.at(90))
                #expect(log.texts == ["long", "later", "new"])
                #expect(log.trimmedThrough == 2)

                // One more pushes the oldest out.
                _ = try await store.appendBroadcast(
                    app: app, payload: Fixture.payload("newer"), ttl: .seconds(600), keep: 3, now: Fixture.at(90))
                let trimmed = try await store.broadcasts(app: app, after: 0, now: Fixture.at(90))
                #expect(trimmed.texts == ["later", "new", "newer"])
                #expect(trimmed.trimmedThrough == 2)
            }
        }

        @Test(arguments: StoreKind.allCases)
        func keepZeroStoresNothingButAdvancesAndTrims(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                _ = try await store.appendBroadcast(
                    app: app, payload: Fixture.payload("a"), ttl: .seconds(60), keep: 5, now: Fixture.t0)
                #expect(
                    try await store.appendBroadcast(
                        app: app, payload: Fixture.payload("b"), ttl: .seconds(60), keep: 0, now: Fixture.t0)
                        == 2)
                let log = try await store.broadcasts(app: app, after: 0, now: Fixture.t0)
                #expect(log == BroadcastReplay(messages: [], lastSequence: 2, trimmedThrough: 2))

                // Keeping again later does not bring anything back.
                _ = try await store.appendBroadcast(
                    app: app, payload: Fixture.payload("c"), ttl: .seconds(60), keep: 5, now: Fixture.t0)
                let again = try await store.broadcasts(app: app, after: 0, now: Fixture.t0)
                #expect(again.texts == ["c"])
                #expect(again.trimmedThrough == 2)
            }
        }

        @Test(arguments: StoreKind.allCases)
        func concurrentBroadcastsGetDistinctSequences(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                let count = 64
                let sequences = try await withThrowingTaskGroup(of: UInt32.self) { group in
                    for index in 0..<count {
                        group.addTask {
                            try await store.appendBroadcast(
                                app: app, payload: Fixture.payload("b\(index)"), ttl: .seconds(60), keep: 1000,
                                now: Fixture.t0)
                        }
                    }
                    var all: [UInt32] = []
                    for try await seq in group { all.append(seq) }
                    return all
                }
                #expect(sequences.sorted() == Array(1...UInt32(count)))
                let log = try await store.broadcasts(app: app, after: 0, now: Fixture.t0)
                #expect(log.sequences == Array(1...UInt32(count)))
                #expect(log.trimmedThrough == 0)
            }
        }
    }
}
