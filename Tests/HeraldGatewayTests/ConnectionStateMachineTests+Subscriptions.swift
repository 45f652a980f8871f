import HeraldCore
import HeraldWire
import Testing

@testable import HeraldGateway

/// SUBSCRIBE costs the event loop at most one hash per topic: repeats are found with a set and
/// the scan stops at the first new topic past the session's remaining allowance.
extension ConnectionStateMachineTests {
    /// As many topics as the review's 64 KB frame carried.
    static let frameOfTopics = (0..<12_000).map { "t\($0)" }

    @Test func distinctTopicsPastTheAllowanceAreRefusedAfterTheAllowance() {
        var machine = Machine()
        let number = Self.open(&machine)
        Self.expectError(
            machine.received(.subscribe(seq: 2, TopicsRequest(session: number, topics: Self.frameOfTopics))),
            .forbiddenTopic,
            seq: 2,
            closes: false
        )
        guard let session = machine.sessions[number] else {
            Issue.record("the session ended")
            return
        }
        #expect(session.subscriptions.isEmpty, "nothing of a refused request is subscribed")
        let scan = Machine.newTopics(Self.frameOfTopics, of: session, limit: 256)
        #expect(scan.result == .overLimit)
        #expect(scan.examined == 257)
    }

    @Test func repeatsOfOneTopicAreOneSubscription() {
        var machine = Machine(configuration: .init(maxSubscriptionsPerSession: 1))
        let number = Self.open(&machine)
        let repeats = [String](repeating: "news", count: 12_000)
        guard
            case .subscribed(_, _, _, let added) =
                machine.received(.subscribe(seq: 2, TopicsRequest(session: number, topics: repeats)))
        else {
            Issue.record("not subscribed")
            return
        }
        #expect(added == ["news"])
        guard let session = machine.sessions[number] else {
            Issue.record("the session ended")
            return
        }
        #expect(session.subscriptions == ["news"])
        // Held already: every repeat is looked at once, and none is new.
        let again = Machine.newTopics(repeats, of: session, limit: 1)
        #expect(again.result == .within([]))
        #expect(again.examined == repeats.count)
        // No allowance left: the first new topic ends the scan.
        let full = Machine.newTopics(Self.frameOfTopics, of: session, limit: 1)
        #expect(full.result == .overLimit)
        #expect(full.examined == 1)
        Self.expectError(
            machine.received(.subscribe(seq: 3, TopicsRequest(session: number, topics: Self.frameOfTopics))),
            .forbiddenTopic,
            seq: 3,
            closes: false
        )
    }
}
