import Foundation
import HeraldCore
import HeraldSQLite
import HeraldWire
import NIOPosix
import NIOCore
import Testing

@Suite("SQLiteStore")
struct SQLiteStoreTests {
    private static let now = Date(timeIntervalSince1970: 1_700_000_000)

    private static func makeApp(_ id: String, webhook: String? = nil) -> App {
        App(
            id: id,
            secret: "secret-\(id)",
            webhook: webhook,
            epoch: "epoch-\(id)",
            createdAt: Date(timeIntervalSince1970: 1_700_000_000.25)
        )
    }

    /// Opens a store in a new directory, runs `body`, closes the store and removes the directory.
    private static func withStore(_ body: (SQLiteStore, TemporaryDirectory) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteStore.open(directory: directory.path)
        do {
            try await body(store, directory)
        } catch {
            try await store.close()
            throw error
        }
        try await store.close()
    }

    @Test func createsListsAndGetsApps() async throws {
        try await Self.withStore { store, _ async throws in
            try await store.catalog.create(Self.makeApp("zeta"))
            try await store.catalog.create(Self.makeApp("alpha", webhook: "https://example.com/hook"))
            #expect(try await store.catalog.list().map(\.id) == ["alpha", "zeta"])
            #expect(
                try await store.catalog.app(id: "alpha") == Self.makeApp("alpha", webhook: "https://example.com/hook")
            )
            #expect(try await store.catalog.app(id: "zeta") == Self.makeApp("zeta"))
            #expect(try await store.catalog.app(id: "missing") == nil)
        }
    }

    @Test func duplicateAppIDIsRejectedAndKeepsTheFirst() async throws {
        try await Self.withStore { store, _ async throws in
            try await store.catalog.create(Self.makeApp("demo"))
            var second = Self.makeApp("demo")
            second.secret = "other"
            await #expect(throws: AppCatalogError.alreadyExists("demo")) {
                try await store.catalog.create(second)
            }
            #expect(try await store.catalog.app(id: "demo")?.secret == "secret-demo")
        }
    }

    @Test func appsAndSequencesSurviveReopen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try await SQLiteStore.open(directory: directory.path)
        try await first.catalog.create(Self.makeApp("demo"))
        #expect(
            try await first.messages.appendBroadcast(
                app: "demo", payload: ByteBuffer(string: "a"), ttl: .seconds(60), keep: 10, now: Self.now) == 1)
        #expect(
            try await first.messages.appendBroadcast(
                app: "demo", payload: ByteBuffer(string: "b"), ttl: .seconds(60), keep: 10, now: Self.now) == 2)
        try await first.close()

        let second = try await SQLiteStore.open(directory: directory.path)
        #expect(try await second.catalog.list() == [Self.makeApp("demo")])
        #expect(try await second.messages.lastBroadcastSequence(app: "demo") == 2)
        #expect(
            try await second.messages.appendBroadcast(
                app: "demo", payload: ByteBuffer(), ttl: .seconds(5), keep: 10, now: Self.now) == 3)
        #expect(try await second.messages.lastBroadcastSequence(app: "other") == 0)
        try await second.close()
    }

    @Test func sequencesArePerApp() async throws {
        try await Self.withStore { store, _ async throws in
            #expect(
                try await store.messages.appendBroadcast(
                    app: "a", payload: ByteBuffer(), ttl: .seconds(60), keep: 10, now: Self.now) == 1)
            #expect(
                try await store.messages.appendBroadcast(
                    app: "b", payload: ByteBuffer(), ttl: .seconds(60), keep: 10, now: Self.now) == 1)
            #expect(
                try await store.messages.appendBroadcast(
                    app: "a", payload: ByteBuffer(), ttl: .seconds(60), keep: 10, now: Self.now) == 2)
            #expect(try await store.messages.lastBroadcastSequence(app: "a") == 2)
            #expect(try await store.messages.lastBroadcastSequence(app: "b") == 1)
        }
    }

    @Test func concurrentBroadcastsGetDistinctSequences() async throws {
        try await Self.withStore { store, _ async throws in
            let count = 200
            let messages = store.messages
            let sequences = try await withThrowingTaskGroup(of: UInt32.self) { group in
                for _ in 0..<count {
                    group.addTask {
                        try await messages.appendBroadcast(
                            app: "demo", payload: ByteBuffer(string: "x"), ttl: .seconds(60), keep: 10, now: Self.now)
                    }
                }
                var all: [UInt32] = []
                for try await seq in group { all.append(seq) }
                return all
            }
            #expect(sequences.sorted() == Array(1...UInt32(count)))
            #expect(try await store.messages.lastBroadcastSequence(app: "demo") == UInt32(count))
        }
    }

    @Test func migrationsAreIdempotentOnReopen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for _ in 0..<3 {
            let store = try await SQLiteStore.open(directory: directory.path)
            #expect(try await store.schemaVersion() == SQLiteStore.latestSchemaVersion)
            try await store.close()
        }
    }

    @Test func createsAMissingDataDirectory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let nested = directory.path + "/a/b"
        let store = try await SQLiteStore.open(directory: nested)
        #expect(store.path == nested + "/herald.sqlite")
        #expect(FileManager.default.fileExists(atPath: store.path))
        try await store.close()
    }

    @Test func garbageFileIsNotADatabase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: directory.path + "/herald.sqlite"))
        let error = await #expect(throws: SQLiteStoreError.self) {
            try await SQLiteStore.open(directory: directory.path)
        }
        guard case .notADatabase(let path, _) = error else {
            Issue.record("expected notADatabase, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("herald.sqlite"))
        #expect(error?.description.contains("not a usable SQLite database") == true)
    }

    @Test func textFileIsNotADatabase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try Data("this is a text file, not SQLite\n".utf8).write(
            to: URL(fileURLWithPath: directory.path + "/herald.sqlite")
        )
        await #expect(throws: SQLiteStoreError.self) {
            try await SQLiteStore.open(directory: directory.path)
        }
    }

    @Test func dataDirectoryThatIsAFileCannotBeOpened() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path + "/plain-file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        for path in [file, file + "/below"] {
            let error = await #expect(throws: SQLiteStoreError.self) {
                try await SQLiteStore.open(directory: path)
            }
            guard case .cannotOpen = error else {
                Issue.record("expected cannotOpen for \(path), got \(String(describing: error))")
                continue
            }
        }
    }

    @Test func callsAfterCloseFailAsUnavailable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteStore.open(directory: directory.path)
        try await store.close()
        try await store.close()
        await #expect(throws: MessageStoreError.self) {
            try await store.messages.appendBroadcast(
                app: "demo", payload: ByteBuffer(), ttl: .seconds(60), keep: 10, now: Self.now)
        }
        await #expect(throws: MessageStoreError.self) {
            try await store.catalog.list()
        }
        await #expect(throws: MessageStoreError.self) {
            try await store.messages.appendInbox(
                InboxAppend(
                    app: "demo",
                    messages: [InboxMessage(users: ["u"], payload: ByteBuffer(), ttl: .seconds(60))],
                    inboxLimit: 10,
                    now: Self.now
                )
            )
        }
    }

    @Test("a user the store never stored for needs no read to open a session, before and after reopening")
    func inboxPresenceSkipsReadsOnlyForUsersWithNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let app = App(id: "demo", secret: "s", epoch: "e1", createdAt: Self.now)
        var store = try await SQLiteStore.open(directory: directory.path)
        #expect(!store.messages.mayHaveInbox(app: "demo", user: "alice"))
        _ = try await store.messages.appendInbox(
            InboxAppend(
                app: "demo",
                messages: [InboxMessage(users: ["alice"], payload: ByteBuffer(string: "m1"), ttl: .seconds(3600))],
                inboxLimit: 10,
                now: .now
            )
        )
        #expect(store.messages.mayHaveInbox(app: "demo", user: "alice"))
        #expect(!store.messages.mayHaveInbox(app: "demo", user: "bob"))
        #expect(!store.messages.mayHaveInbox(app: "other", user: "alice"))
        try await store.close()

        store = try await SQLiteStore.open(directory: directory.path)
        #expect(store.messages.mayHaveInbox(app: "demo", user: "alice"))
        #expect(!store.messages.mayHaveInbox(app: "demo", user: "bob"))

        // The replay of both: alice's message read from the file, bob's empty plan made
        // without a read, the same as the one a read gives.
        let replay = StoreReplay(store: store.messages, acknowledgements: nil)
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        for (user, expected) in [("alice", ["m1"]), ("bob", [])] {
            let token = VerifiedToken(app: app, claims: TokenClaims(app: "demo", sub: user, dev: "phone", exp: 4_102_444_800))
            for resume in [nil, AuthRequest.Resume(epoch: "e0", inbox: 3, broadcast: 0)] {
                let fast = try await replay.replay(for: token, resume: resume, on: loop).get()
                let read = try await replay.plan(for: token, resume: resume, now: .now)
                #expect(fast.epoch == read.epoch)
                #expect(fast.recovered == read.recovered)
                #expect(fast.pushes.map(\.seq) == read.pushes.map(\.seq))
                #expect(fast.pushes.map { String(buffer: $0.payload) } == expected)
            }
        }
        try await store.close()
    }
}
