import Foundation
import HeraldCore
import HeraldTesting
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Testing

@testable import HeraldSQLite

/// Random group-commit batches through the SQLite write path against the in-memory store
/// applying the same requests one at a time: results, inboxes and dead letters must agree.
@Suite("SQLiteInboxBatchDifferential")
struct SQLiteInboxBatchDifferentialTests {
    private struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            self.state = self.state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((self.state >> 33) % UInt64(bound))
        }
    }

    @Test(arguments: Array(1...80))
    func batchesMatchOneAtATime(seed: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let opened = try await SQLiteStore.open(directory: directory.path)
        let path = opened.path
        try await opened.close()
        let connection = try await SQLiteConnection.open(
            storage: .file(path: path), threadPool: .singleton, logger: Logger(label: "test"),
            on: MultiThreadedEventLoopGroup.singleton.any())
        let executor = SQLiteExecutor(connection: connection, path: path, logger: Logger(label: "test"))
        let sqlite = SQLiteMessageStore(executor: executor, presence: InboxPresence([]))
        let memory = InMemoryMessageStore()
        var random = Random(state: UInt64(seed) &* 0x9E37_79B9)
        let users = ["u1", "u2", "u3", "u4"]
        let apps = ["a", "b"]
        var counter = 0
        let base = Date(timeIntervalSince1970: 1_700_000_000)
        for round in 0..<30 {
            let sharedLimit = [1, 2, 3, 5, 8][random.next(5)]
            var batch: [InboxAppend] = []
            for index in 0..<(1 + random.next(6)) {
                var messages: [InboxMessage] = []
                for _ in 0..<(random.next(5)) {
                    var chosen: [String] = []
                    for user in users where random.next(3) == 0 { chosen.append(user) }
                    if chosen.isEmpty { chosen = [users[random.next(users.count)]] }
                    counter += 1
                    messages.append(
                        InboxMessage(
                            users: chosen, payload: ByteBuffer(string: "p\(counter)"), ttl: .seconds(3600),
                            collapseKey: seed <= 40 && random.next(4) == 0 ? ["k1", "k2"][random.next(2)] : nil,
                            keepsDeadLetter: random.next(4) != 0))
                }
                let idempotency =
                    random.next(4) == 0
                    ? IdempotencyKey(key: ["i1", "i2", "i3"][random.next(3)], fingerprint: ["f1", "f2"][random.next(2)])
                    : nil
                let limit = seed <= 40 && random.next(5) == 0 ? [1, 2, 3, 5, 8][random.next(5)] : sharedLimit
                batch.append(
                    InboxAppend(
                        app: apps[random.next(2)], messages: messages, idempotency: idempotency, inboxLimit: limit,
                        now: base.addingTimeInterval(Double(round) + Double(index) / 1000)))
            }
            let got = try await SQLiteInboxAppender.commit(batch, executor: executor)
            var want: [Result<InboxAppendResult, any Error>] = []
            for append in batch {
                do { want.append(.success(try await memory.appendInbox(append))) } catch { want.append(.failure(error)) }
            }
            #expect(got.map(Self.describe) == want.map(Self.describe), "seed \(seed) round \(round)")

            let now = base.addingTimeInterval(Double(round) + 0.5)
            if random.next(3) == 0 {
                let app = apps[random.next(2)]
                let user = users[random.next(users.count)]
                let seq = UInt32(random.next(Int(try await memory.lastInboxSequence(app: app, user: user)) + 1))
                let ack = [InboxAcknowledgement(app: app, user: user, device: "d\(random.next(2))", seq: seq)]
                try await sqlite.acknowledge(ack)
                try await memory.acknowledge(ack)
            }
            for app in apps {
                for user in users {
                    let left = try await sqlite.inbox(app: app, user: user, device: "d0", after: 0, now: now)
                    let right = try await memory.inbox(app: app, user: user, device: "d0", after: 0, now: now)
                    #expect(left == right, "seed \(seed) round \(round) \(app)/\(user)")
                }
                let left = try await sqlite.deadLetters(app: app, before: nil, limit: 10_000).deadLetters
                let right = try await memory.deadLetters(app: app, before: nil, limit: 10_000).deadLetters
                #expect(
                    left.map { "\($0.user) \($0.seq) \($0.reason) \($0.diedAt.timeIntervalSince1970)" }
                        == right.map { "\($0.user) \($0.seq) \($0.reason) \($0.diedAt.timeIntervalSince1970)" },
                    "seed \(seed) round \(round) \(app)")
            }
        }
        try await executor.close()
    }

    private static func describe(_ result: Result<InboxAppendResult, any Error>) -> String {
        switch result {
        case .success(let value): "\(value)"
        case .failure(let error): "error \(error)"
        }
    }
}
