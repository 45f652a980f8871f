import HeraldCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Times and names shared by the contract tests. Every test passes explicit `now` dates.
enum Fixture {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    /// `seconds` after ``t0``.
    static func at(_ seconds: Int) -> Date {
        Self.t0.addingTimeInterval(TimeInterval(seconds))
    }

    /// A fresh app id, so tests sharing a database never see each other's rows.
    static func uniqueApp() -> String {
        "contract-\(UUID().uuidString.lowercased())"
    }

    static func payload(_ text: String) -> ByteBuffer {
        ByteBuffer(string: text)
    }
}

extension MessageStore {
    /// Appends one message as a call of its own and returns its users' sequences.
    @discardableResult
    func push(
        app: String,
        users: [String],
        _ text: String,
        ttl: Duration = .seconds(3600),
        collapseKey: String? = nil,
        keepsDeadLetter: Bool = true,
        inboxLimit: Int = 1000,
        now: Date = Fixture.t0
    ) async throws -> [UInt32] {
        let result = try await self.appendInbox(
            InboxAppend(
                app: app,
                messages: [
                    InboxMessage(
                        users: users,
                        payload: Fixture.payload(text),
                        ttl: ttl,
                        collapseKey: collapseKey,
                        keepsDeadLetter: keepsDeadLetter
                    )
                ],
                inboxLimit: inboxLimit,
                now: now
            )
        )
        return result.messages.first?.map(\.seq) ?? []
    }

    /// The user's inbox as `device` would be replayed it: sequences and payload texts.
    func replay(
        app: String,
        user: String,
        device: String = "phone",
        after: UInt32 = 0,
        now: Date = Fixture.t0
    ) async throws -> InboxReplay {
        try await self.inbox(app: app, user: user, device: device, after: after, now: now)
    }
}

extension InboxReplay {
    var sequences: [UInt32] { self.messages.map(\.seq) }
    var texts: [String] { self.messages.map { String(buffer: $0.payload) } }
}

extension BroadcastReplay {
    var sequences: [UInt32] { self.messages.map(\.seq) }
    var texts: [String] { self.messages.map { String(buffer: $0.payload) } }
}
