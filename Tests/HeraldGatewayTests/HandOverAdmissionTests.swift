import NIOConcurrencyHelpers
import Testing

@testable import HeraldGateway

/// Back pressure on fan-out: room for `limit` messages before the next pass, then callers wait,
/// in order, until a pass takes the queue.
@Suite struct HandOverAdmissionTests {
    @Test func callersPastTheLimitWaitInOrderForAPassToTakeTheQueue() async throws {
        let admission = HandOverAdmission(limit: 2)
        await admission.admit()
        await admission.admit()
        #expect(admission.snapshot == (queued: 2, waiting: 0))

        let admitted = NIOLockedValueBox<[Int]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 1...3 {
                group.addTask {
                    await admission.admit()
                    admitted.withLockedValue { $0.append(index) }
                }
                // Queued one after another, so their order is known.
                while admission.snapshot.waiting < index { await Task.yield() }
            }
            #expect(admitted.withLockedValue { $0 }.isEmpty, "nobody passes a full queue")

            // A pass takes both queued messages: room for two of the three, first come first.
            admission.taken(2)
            while admitted.withLockedValue({ $0.count }) < 2 { await Task.yield() }
            #expect(admitted.withLockedValue { $0 } == [1, 2])
            #expect(admission.snapshot == (queued: 2, waiting: 1))

            admission.taken(2)
            try await group.waitForAll()
        }
        #expect(admitted.withLockedValue { $0 } == [1, 2, 3])
        #expect(admission.snapshot == (queued: 1, waiting: 0))
    }

    @Test func theLoopsOwnMessagesNeverWait() {
        let admission = HandOverAdmission(limit: 1)
        admission.admitNow()
        admission.admitNow()
        #expect(admission.snapshot == (queued: 2, waiting: 0))
        admission.taken(5)
        #expect(admission.snapshot == (queued: 0, waiting: 0))
    }
}
