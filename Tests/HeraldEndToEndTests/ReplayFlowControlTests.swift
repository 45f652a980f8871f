import Foundation
import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

/// A replay larger than the outbound limit reaches a slow reader whole and in order: it is
/// written in pages as the socket drains, not all at once and closed as a slow consumer.
@Suite("Replay flow control", .timeLimit(.minutes(3)))
struct ReplayFlowControlTests {
    static let maxOutboundBytes = 256 * 1024
    static let payloadBytes = 8 * 1024

    @Test("A replay four times the outbound limit, plus a large broadcast log, reaches a slow reader", arguments: [Transport.tcp, .webSocket])
    func largeReplayReachesASlowReader(transport: Transport) async throws {
        let harness = try await Harness.start(["--max-outbound-bytes", "\(Self.maxOutboundBytes)"])
        let inboxCount = 4 * Self.maxOutboundBytes / Self.payloadBytes
        let broadcastCount = 4 * Self.maxOutboundBytes / Self.payloadBytes
        for index in 1...inboxCount {
            let text = Self.payload("inbox \(index)")
            let answer = try await harness.api.push(harness.app, users: ["alice"], payload: .text(text), qos: 1)
            #expect(answer.messages?.first?.seq == index)
        }
        for index in 1...broadcastCount {
            let answer = try await harness.api.broadcast(harness.app, payload: .text(Self.payload("broadcast \(index)")))
            #expect(answer.seq == index)
        }

        let token = try await harness.token(user: "alice", device: "phone")
        let client = try await harness.connect(transport)
        // Resuming from broadcast 1: the log replays from 2.
        let ok = try await client.auth(token: token, resume: AuthRequest.Resume(epoch: nil, inbox: 0, broadcast: 1))
        #expect(ok.recovered == AuthOK.Recovered(inbox: true, broadcast: true))
        try await client.stopReading()

        let expected = inboxCount + broadcastCount - 1
        var pushes: [(seq: UInt32, kind: PushKind, text: String)] = []
        let deadline = ContinuousClock.now + .seconds(90)
        reading: while pushes.count < expected, ContinuousClock.now < deadline {
            // A slow reader: one socket read every 20 ms.
            client.readOnce()
            try await Task.sleep(for: .milliseconds(20))
            while let event = try await client.poll(for: .milliseconds(1)) {
                switch event {
                case .frame(let frame):
                    guard case .push(let seq, _, let body) = try ServerMessage(frame) else {
                        Issue.record("unexpected frame \(frame)")
                        continue
                    }
                    pushes.append((seq, body.kind, String(buffer: body.payload)))
                default:
                    Issue.record("the connection ended early: \(event) after \(pushes.count) pushes")
                    break reading
                }
            }
        }
        try await client.resumeReading()
        #expect(pushes.count == expected)
        let users = pushes.filter { $0.kind == .user }
        let broadcasts = pushes.filter { $0.kind == .broadcast }
        #expect(users.map(\.seq) == (1...inboxCount).map(UInt32.init))
        #expect(broadcasts.map(\.seq) == (2...broadcastCount).map(UInt32.init))
        #expect(users.last?.text == Self.payload("inbox \(inboxCount)"))
        #expect(broadcasts.last?.text == Self.payload("broadcast \(broadcastCount)"))
        // Still open and answering.
        try await client.ping(seq: 77)
        await client.close()
    }

    /// `label` padded to the payload size, so that each message is recognisable.
    static func payload(_ label: String) -> String {
        label + String(repeating: ".", count: Self.payloadBytes - label.utf8.count)
    }
}
