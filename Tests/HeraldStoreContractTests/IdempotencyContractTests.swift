import HeraldCore
import NIOCore
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension MessageStoreContract {
    /// Idempotency keys: a retry within the window answers the first result.
    @Suite("Idempotency keys")
    struct IdempotencyContractTests {
        private static let window = Int(InboxAppend.idempotencyWindow.components.seconds)

        private static func append(
            app: String,
            users: [String] = ["alice", "bob"],
            key: String,
            fingerprint: String,
            now: Date
        ) -> InboxAppend {
            InboxAppend(
                app: app,
                messages: [
                    InboxMessage(users: users, payload: Fixture.payload("hello"), ttl: .seconds(3 * 24 * 3600)),
                    InboxMessage(users: ["alice"], payload: Fixture.payload("again"), ttl: .seconds(3 * 24 * 3600)),
                ],
                idempotency: IdempotencyKey(key: key, fingerprint: fingerprint),
                inboxLimit: 1000,
                now: now
            )
        }

        @Test(arguments: StoreKind.allCases)
        func aRetryWithTheSameRequestIsAnsweredFromTheRecord(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                let first = try await store.appendInbox(
                    Self.append(app: app, key: "k1", fingerprint: "f1", now: Fixture.t0))
                #expect(!first.replayed)
                #expect(first.messages.map { $0.map(\.seq) } == [[1, 1], [2]])

                let retry = try await store.appendInbox(
                    Self.append(app: app, key: "k1", fingerprint: "f1", now: Fixture.at(Self.window - 1)))
                #expect(retry.replayed)
                #expect(retry.messages == first.messages)
                #expect(try await store.lastInboxSequence(app: app, user: "alice") == 2)
                #expect(
                    try await store.replay(app: app, user: "alice", now: Fixture.at(10)).texts == ["hello", "again"])

                // Keys are per app, and other keys are other requests.
                let elsewhere = try await store.appendInbox(
                    Self.append(app: Fixture.uniqueApp(), key: "k1", fingerprint: "other", now: Fixture.t0))
                #expect(!elsewhere.replayed)
                let otherKey = try await store.appendInbox(
                    Self.append(app: app, key: "k2", fingerprint: "f1", now: Fixture.t0))
                #expect(!otherKey.replayed)
                #expect(otherKey.messages.map { $0.map(\.seq) } == [[3, 2], [4]])
            }
        }

        @Test(arguments: StoreKind.allCases)
        func aDifferentRequestWithTheSameKeyConflictsAndStoresNothing(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                _ = try await store.appendInbox(Self.append(app: app, key: "k", fingerprint: "f1", now: Fixture.t0))
                await #expect(throws: MessageStoreError.idempotencyConflict) {
                    try await store.appendInbox(
                        Self.append(app: app, users: ["carol"], key: "k", fingerprint: "f2", now: Fixture.at(5)))
                }
                #expect(try await store.lastInboxSequence(app: app, user: "alice") == 2)
                #expect(try await store.lastInboxSequence(app: app, user: "carol") == 0)
                // The record still answers the original request.
                #expect(
                    try await store.appendInbox(Self.append(app: app, key: "k", fingerprint: "f1", now: Fixture.at(6)))
                        .replayed)
            }
        }

        @Test(arguments: StoreKind.allCases)
        func aRecordOlderThanTheWindowIsReplaced(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                _ = try await store.appendInbox(Self.append(app: app, key: "k", fingerprint: "f1", now: Fixture.t0))
                let later = Fixture.at(Self.window + 1)
                let fresh = try await store.appendInbox(Self.append(app: app, key: "k", fingerprint: "f2", now: later))
                #expect(!fresh.replayed)
                #expect(fresh.messages.map { $0.map(\.seq) } == [[3, 2], [4]])
                // The new record answers from now on.
                let retry = try await store.appendInbox(Self.append(app: app, key: "k", fingerprint: "f2", now: later))
                #expect(retry.replayed)
                #expect(retry.messages == fresh.messages)
                await #expect(throws: MessageStoreError.idempotencyConflict) {
                    try await store.appendInbox(Self.append(app: app, key: "k", fingerprint: "f1", now: later))
                }
            }
        }

        @Test(arguments: StoreKind.allCases)
        func purgeRemovesRecordsPastTheWindow(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                _ = try await store.appendInbox(Self.append(app: app, key: "old", fingerprint: "f1", now: Fixture.t0))
                _ = try await store.appendInbox(
                    Self.append(app: app, key: "young", fingerprint: "f1", now: Fixture.at(10)))
                let report = try await store.purge(now: Fixture.at(Self.window), deadLetterLimit: 100)
                if kind.isIsolated {
                    #expect(report.idempotencyRecords == 1)
                } else {
                    #expect(report.idempotencyRecords >= 1)
                }
                // A purged record no longer answers, even when asked with a time inside its window.
                #expect(
                    !(try await store.appendInbox(
                        Self.append(app: app, key: "old", fingerprint: "f2", now: Fixture.at(5))
                    ).replayed))
                #expect(
                    try await store.appendInbox(
                        Self.append(app: app, key: "young", fingerprint: "f1", now: Fixture.at(11))
                    ).replayed)
            }
        }

        /// Requests that run together (on SQLite in one group-committed transaction): the
        /// conflicting ones fail alone, the others are stored.
        @Test(arguments: StoreKind.allCases)
        func aConflictFailsOnlyItsOwnRequest(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                _ = try await store.appendInbox(
                    Self.append(app: app, users: ["u"], key: "taken", fingerprint: "f1", now: Fixture.t0))
                let outcomes = await withTaskGroup(of: (conflicting: Bool, stored: Bool).self) { group in
                    for index in 0..<24 {
                        let conflicting = index % 3 == 0
                        group.addTask {
                            let append =
                                conflicting
                                ? Self.append(
                                    app: app, users: ["u"], key: "taken", fingerprint: "f\(index + 2)",
                                    now: Fixture.at(1))
                                : Self.append(
                                    app: app, users: ["u"], key: "fresh-\(index)", fingerprint: "f", now: Fixture.at(1))
                            do {
                                _ = try await store.appendInbox(append)
                                return (conflicting, true)
                            } catch {
                                return (conflicting, false)
                            }
                        }
                    }
                    var all: [(conflicting: Bool, stored: Bool)] = []
                    for await outcome in group { all.append(outcome) }
                    return all
                }
                #expect(outcomes.allSatisfy { $0.conflicting != $0.stored })
                // One message for "u" and one for "alice" per call: 1 + 16 calls.
                #expect(try await store.lastInboxSequence(app: app, user: "u") == 17)
                #expect(try await store.replay(app: app, user: "u", now: Fixture.at(2)).sequences == Array(1...17))
            }
        }
    }
}
