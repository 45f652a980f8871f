import HeraldCore
import NIOCore
import Testing

extension MessageStoreContract {
    /// Replay reads in pages: at most `rows` messages and about `bytes` of payload per read
    /// (never none while some are left), `isComplete` false while more may follow, and the
    /// pages read one after another are the whole replay.
    @Suite("Inbox pages")
    struct InboxPageContractTests {
        @Test(arguments: StoreKind.allCases)
        func pagesByRowsAndBytesMakeTheWholeReplay(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                for index in 1...10 {
                    try await store.push(app: app, users: ["u"], String(repeating: "\(index % 10)", count: 100))
                }
                let whole = try await store.inbox(app: app, user: "u", device: "d", after: 0, now: Fixture.t0)
                #expect(whole.messages.count == 10 && whole.isComplete)

                for page in [InboxPage(rows: 3, bytes: 1 << 20), InboxPage(rows: 100, bytes: 250), InboxPage(rows: 10, bytes: 1 << 20)] {
                    var read: [StoredMessage] = []
                    var after: UInt32 = 0
                    var reads = 0
                    while reads < 20 {
                        let replay = try await store.inbox(
                            app: app, user: "u", device: "d", after: after, now: Fixture.t0, page: page)
                        reads += 1
                        #expect(replay.messages.count <= page.rows)
                        #expect(replay.cursor == 0 && replay.lastSequence == 10 && replay.lostThrough == 0)
                        read += replay.messages
                        guard !replay.isComplete, let last = replay.messages.last else { break }
                        after = last.seq
                    }
                    #expect(read == whole.messages, "pages of \(page.rows) rows / \(page.bytes) bytes")
                    // 3 rows a page: 4 reads; 250 bytes: 3 messages (300 bytes) a page, 4 reads;
                    // 10 rows: the first read holds everything and says so.
                    #expect(reads == (page.rows == 10 ? 1 : 4), "pages of \(page.rows) rows / \(page.bytes) bytes")
                }

                // A message larger than the page's bytes still comes, alone.
                let big = try await store.inbox(
                    app: app, user: "u", device: "d", after: 0, now: Fixture.t0, page: InboxPage(rows: 5, bytes: 10))
                #expect(big.messages.map(\.seq) == [1])
                #expect(!big.isComplete)
            }
        }
    }
}
