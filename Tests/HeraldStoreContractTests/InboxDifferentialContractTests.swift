import HeraldCore
import HeraldTesting
import NIOCore
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Random multi-message, multi-user calls with collapse keys, inbox bounds, dead-letter
/// policies and acknowledgements, given to a store and to the in-memory reference one call
/// at a time: results, inboxes, loss watermarks and dead letters (in order) must match. The
/// set-based batch writers of SQLite and PostgreSQL are checked against the plain one here.
///
/// Serialized: each case opens a store of its own (on PostgreSQL a pool and a migration
/// under the database-wide advisory lock); forty at once were more than the shared test
/// server should take alongside every other suite.
@Suite("Inbox writes match the in-memory reference", .serialized)
struct InboxDifferentialContractTests {
    struct Rng {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Int(z % UInt64(n))
        }
    }

    @Test(arguments: [StoreKind.sqlite, .postgres], Array(1...25))
    func sameAsMemory(kind: StoreKind, seed: Int) async throws {
        let (pg, cleanup) = try await StoreFactory.makeStore(kind)
        do {
            try await Self.compare(pg, seed: seed)
        } catch {
            try? await cleanup()
            throw error
        }
        try await cleanup()
    }

    static func compare(_ pg: any MessageStore, seed: Int) async throws {
        let memory = InMemoryMessageStore()
        let app = "app\(seed)"
        var rng = Rng(state: UInt64(seed) &* 7919)
        let users = ["u0", "u1", "u2", "u3"]
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        var counter = 0
        for step in 0..<40 {
            let now = t0.addingTimeInterval(Double(step))
            if rng.next(5) == 0 {
                let ack = InboxAcknowledgement(app: app, user: users[rng.next(4)], device: "d\(rng.next(2))", seq: UInt32(rng.next(60)))
                try await memory.acknowledge([ack])
                try await pg.acknowledge([ack])
                continue
            }
            let limit = 1 + rng.next(seed % 2 == 0 ? 4 : 12)
            var messages: [InboxMessage] = []
            for _ in 0..<(1 + rng.next(6)) {
                var chosen = users.filter { _ in rng.next(2) == 0 }
                if chosen.isEmpty { chosen = [users[rng.next(4)]] }
                if rng.next(2) == 0 { chosen.reverse() }
                counter += 1
                let keys: [String?] = [nil, nil, "a", "b"]
                messages.append(
                    InboxMessage(
                        users: chosen, payload: ByteBuffer(string: "p\(counter)"), ttl: .seconds(1000),
                        collapseKey: keys[rng.next(4)], keepsDeadLetter: rng.next(4) != 0))
            }
            let append = InboxAppend(app: app, messages: messages, inboxLimit: limit, now: now)
            let a = try await memory.appendInbox(append)
            let b = try await pg.appendInbox(append)
            #expect(a == b, "step \(step)")
        }
        let end = t0.addingTimeInterval(100)
        for user in users {
            let a = try await memory.inbox(app: app, user: user, device: "d0", after: 0, now: end)
            let b = try await pg.inbox(app: app, user: user, device: "d0", after: 0, now: end)
            #expect(a.messages.map(\.seq) == b.messages.map(\.seq), "\(user)")
            #expect(a.messages.map { String(buffer: $0.payload) } == b.messages.map { String(buffer: $0.payload) })
            #expect(a.lostThrough == b.lostThrough, "\(user)")
            #expect(a.lastSequence == b.lastSequence)
        }
        let da = try await memory.deadLetters(app: app, before: nil, limit: 10000).deadLetters
        let db = try await pg.deadLetters(app: app, before: nil, limit: 10000).deadLetters
        func norm(_ d: [DeadLetter]) -> [String] {
            d.map { "\($0.user)/\($0.seq)/\(String(buffer: $0.payload))/\($0.createdAt.timeIntervalSince1970)/\($0.diedAt.timeIntervalSince1970)" }
        }
        #expect(Set(norm(da)) == Set(norm(db)))
        #expect(norm(da) == norm(db), "order")
    }
}
