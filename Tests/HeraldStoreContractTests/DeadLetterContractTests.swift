import HeraldCore
import NIOCore
import Testing

extension MessageStoreContract {
    /// Listing and bounding dead letters.
    @Suite("Dead letters")
    struct DeadLetterContractTests {
        /// Five dead letters of `app` (seqs 1 to 5, pushed out by an inbox bound of 1).
        private static func makeFive(_ store: any MessageStore, app: String) async throws {
            for index in 1...6 {
                try await store.push(app: app, users: ["u"], "m\(index)", inboxLimit: 1, now: Fixture.at(index))
            }
        }

        @Test(arguments: StoreKind.allCases)
        func pagesGoNewestFirstByID(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                try await Self.makeFive(store, app: app)
                try await Self.makeFive(store, app: Fixture.uniqueApp())

                let first = try await store.deadLetters(app: app, before: nil, limit: 2)
                #expect(first.deadLetters.map(\.seq) == [5, 4])
                #expect(first.next == first.deadLetters.last?.id)
                let second = try await store.deadLetters(app: app, before: first.next, limit: 2)
                #expect(second.deadLetters.map(\.seq) == [3, 2])
                #expect(second.next == second.deadLetters.last?.id)
                let last = try await store.deadLetters(app: app, before: second.next, limit: 2)
                #expect(last.deadLetters.map(\.seq) == [1])
                #expect(last.next == nil)

                let ids = (first.deadLetters + second.deadLetters + last.deadLetters).map(\.id)
                #expect(ids == ids.sorted(by: >))
                #expect(Set(ids).count == 5)

                // A page that ends exactly at the last letter has no next.
                let exact = try await store.deadLetters(app: app, before: nil, limit: 5)
                #expect(exact.deadLetters.count == 5)
                #expect(exact.next == nil)
                #expect(
                    try await store.deadLetters(app: Fixture.uniqueApp(), before: nil, limit: 5)
                        == DeadLetterPage(deadLetters: [], next: nil))
            }
        }

        @Test(arguments: StoreKind.allCases)
        func purgeKeepsTheNewestPerApp(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                let other = Fixture.uniqueApp()
                try await Self.makeFive(store, app: app)
                try await store.push(app: other, users: ["v"], "o1", inboxLimit: 1)
                try await store.push(app: other, users: ["v"], "o2", inboxLimit: 1)

                let report = try await store.purge(now: Fixture.at(7), deadLetterLimit: 3)
                if kind.isIsolated {
                    #expect(report == PurgeReport(deadLettersTrimmed: 2))
                } else {
                    #expect(report.deadLettersTrimmed >= 2)
                }
                #expect(
                    try await store.deadLetters(app: app, before: nil, limit: 10).deadLetters.map(\.seq) == [5, 4, 3])
                #expect(try await store.deadLetters(app: other, before: nil, limit: 10).deadLetters.map(\.seq) == [1])
            }
        }
    }
}
