import Foundation
import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

/// Broadcasts from several concurrent API connections reach every session once each, in
/// sequence order and without gaps, while the node writes them in passes and slices.
@Suite("Broadcast order", .sharedServer, .timeLimit(.minutes(2)))
struct BroadcastOrderTests {
    @Test("Concurrent broadcasts arrive at every session once, in sequence order", arguments: [Transport.tcp, .webSocket])
    func concurrentBroadcastsArriveInOrder(transport: Transport) async throws {
        let harness = try await Harness.make()
        var clients: [RawClient] = []
        for index in 0..<4 {
            let (client, _) = try await harness.connectAndAuth(transport, user: "user-\(index)")
            clients.append(client)
        }
        let publishers = 4
        let each = 30
        let sessions = try await withThrowingTaskGroup(of: [Int].self) { group in
            for publisher in 0..<publishers {
                group.addTask {
                    var counts: [Int] = []
                    for index in 0..<each {
                        let answer = try await harness.api.broadcast(
                            harness.app,
                            payload: .text("from \(publisher), number \(index)")
                        )
                        counts.append(answer.sessions)
                    }
                    return counts
                }
            }
            var all: [Int] = []
            for try await counts in group { all.append(contentsOf: counts) }
            return all
        }
        #expect(sessions.count == publishers * each)
        #expect(sessions.allSatisfy { $0 == clients.count }, "each broadcast was handed to every session")

        let total = publishers * each
        for (index, client) in clients.enumerated() {
            var seqs: [UInt32] = []
            while seqs.count < total {
                let push = try await client.receivePush(timeout: .seconds(10))
                #expect(push.body.kind == .broadcast)
                seqs.append(push.seq)
            }
            #expect(seqs == (1...total).map(UInt32.init), "client \(index) got \(seqs.count) broadcasts out of order or with gaps")
            #expect(try await client.poll(for: .milliseconds(200)) == nil, "client \(index) got more than one copy")
            await client.close()
        }
    }
}
