import HeraldTestUtils
import HeraldWire
import Testing

/// `--event-loops` and `--task-loops`: the gateway's loops and the loops that run the node's
/// tasks (NIO's shared group, installed as Swift concurrency's executor).
@Suite("Thread options", .timeLimit(.minutes(2)))
struct ThreadOptionsTests {
    @Test("a node with one gateway loop and one task loop serves pushes, broadcasts and stored messages")
    func oneLoopEach() async throws {
        let harness = try await Harness.start(["--event-loops", "1", "--task-loops", "1"])
        let (client, _) = try await harness.connectAndAuth(.tcp, user: "alice")
        #expect(try await harness.api.push(harness.app, users: ["alice"], payload: .text("one")).sessions == 1)
        #expect(try await client.receivePush().body.payloadBytes == Array("one".utf8))
        #expect(try await harness.api.broadcast(harness.app, payload: .text("all")).sessions == 1)
        #expect(try await client.receivePush().body.payloadBytes == Array("all".utf8))
        #expect(try await harness.api.push(harness.app, users: ["alice"], payload: .text("kept"), qos: 1).sessions == 1)
        #expect(try await client.receivePush().body.payloadBytes == Array("kept".utf8))
        await client.close()
    }

    @Test("a loop count outside 1 to 256 is refused with a sentence naming the option", arguments: [
        ["--task-loops", "0"], ["--task-loops", "257"], ["--event-loops", "0"],
    ])
    func outOfRange(arguments: [String]) async throws {
        do {
            let server = try await HeraldProcess.start(arguments, readyTimeout: .seconds(20))
            _ = try await server.terminate()
            Issue.record("herald started with \(arguments)")
        } catch let error as HeraldProcessError {
            #expect(error.standardError.contains("\(arguments[0]) must be 1 to 256, not \(arguments[1])"), "\(error.standardError)")
        }
    }
}
