import NIOConcurrencyHelpers
import Testing

@testable import HeraldAPI

@Suite("KeyedSerialQueue")
struct KeyedSerialQueueTests {
    /// A gate the test opens by hand, so that an operation can be held mid-way.
    final class Gate: Sendable {
        private let state = NIOLockedValueBox<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        func wait() async {
            await withCheckedContinuation { continuation in
                let open = self.state.withLockedValue { state -> Bool in
                    if state.open { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if open { continuation.resume() }
            }
        }

        func open() {
            let waiters = self.state.withLockedValue { state in
                state.open = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    @Test func operationsOnOneKeyRunOneAtATimeInTheOrderTheyAsked() async throws {
        let queue = KeyedSerialQueue()
        let log = NIOLockedValueBox<[String]>([])
        let gate = Gate()
        let firstStarted = Gate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await queue.run("demo") {
                    log.withLockedValue { $0.append("first starts") }
                    firstStarted.open()
                    await gate.wait()
                    log.withLockedValue { $0.append("first ends") }
                }
            }
            await firstStarted.wait()
            // Queued in a known order behind the first, which holds the key.
            for index in 2...5 {
                group.addTask {
                    try await queue.run("demo") {
                        log.withLockedValue { $0.append("op \(index)") }
                    }
                }
                while queue.waitingCount("demo") < index - 1 { await Task.yield() }
            }
            // Another app's operation does not wait for demo's.
            try await queue.run("other") { log.withLockedValue { $0.append("other") } }
            gate.open()
            try await group.waitForAll()
        }
        #expect(
            log.withLockedValue { $0 } == ["first starts", "other", "first ends", "op 2", "op 3", "op 4", "op 5"]
        )
        #expect(queue.takenKeys == 0)
    }

    @Test func aFailingOperationPassesTheKeyOn() async throws {
        struct Failure: Error {}
        let queue = KeyedSerialQueue()
        await #expect(throws: Failure.self) {
            try await queue.run("demo") { throw Failure() }
        }
        #expect(queue.takenKeys == 0)
        let value = try await queue.run("demo") { 42 }
        #expect(value == 42)
    }
}
