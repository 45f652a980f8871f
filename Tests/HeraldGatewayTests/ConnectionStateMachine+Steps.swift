import Foundation
import HeraldCore

@testable import HeraldGateway

/// Shortcuts for tests that drive the machine's AUTH steps.
extension ConnectionStateMachine {
    /// The instant sessions open at in tests.
    static let testSince = Date(timeIntervalSince1970: 1_000_000)

    /// The token verified, at ``testSince``.
    mutating func authVerified(seq: UInt32, token: VerifiedToken) -> OpeningAction {
        self.authVerified(seq: seq, token: token, since: Self.testSince)
    }

    /// Both AUTH steps at once, for a plan known up front.
    mutating func authSucceeded(seq: UInt32, token: VerifiedToken, plan: ReplayPlan) -> AuthCompletionAction {
        guard case .loadReplay = self.authVerified(seq: seq, token: token) else { return .closeConnection }
        return self.replayLoaded(seq: seq, plan: plan)
    }
}
