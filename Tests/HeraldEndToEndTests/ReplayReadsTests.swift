import Foundation
import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

/// A replay larger than one store read (`--replay-read-rows`, `--replay-read-bytes`) still
/// brings the whole inbox, in order, before the live messages that follow it.
@Suite("Replay reads", .timeLimit(.minutes(1)))
struct ReplayReadsTests {
    @Test("an inbox of 40 messages replays whole through reads of at most 7 rows and 1,000 bytes")
    func aReplayReadInPartsIsWhole() async throws {
        let server = try await HeraldProcess.start(["--replay-read-rows", "7", "--replay-read-bytes", "1000"])
        let api = APIClient(server)
        let app = try await api.createApp(prefix: "pages")
        for index in 1...40 {
            _ = try await api.push(app, users: ["u"], payload: .text(String(format: "%03d", index) + String(repeating: "x", count: 150)), qos: 1)
        }
        let client = try await RawClient.connect(.tcp, to: server)
        _ = try await client.auth(token: try await api.token(app, user: "u"))
        var received: [(seq: UInt32, text: String)] = []
        while received.count < 40, let event = try await client.poll(for: .seconds(5)) {
            guard case .frame(let frame) = event, case .push(let seq, let flags, let body) = try ServerMessage(frame) else {
                Issue.record("unexpected \(event)")
                break
            }
            #expect(flags.contains(.ackRequired))
            received.append((seq, String(buffer: body.payload).prefix(3).description))
        }
        #expect(received.map(\.seq) == (1...40).map { UInt32($0) })
        #expect(received.map(\.text) == (1...40).map { String(format: "%03d", $0) })
        // A message stored after the replay comes live, once, after it.
        _ = try await api.push(app, users: ["u"], payload: .text("live"), qos: 1)
        guard case .frame(let frame) = try await client.poll(for: .seconds(5)),
            case .push(let seq, _, _) = try ServerMessage(frame)
        else {
            Issue.record("the live message did not come")
            return
        }
        #expect(seq == 41)
        #expect(try await client.poll(for: .milliseconds(300)) == nil, "something came twice")
        _ = try await server.terminate()
    }
}
