import HeraldCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The answer to `GET /v1/apps/{app}/dead-letters`.
struct DeadLetterPageResponse: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        var id: Int64
        var user: String
        var seq: UInt32
        /// The payload as text, when it is valid UTF-8; omitted otherwise.
        var payload: String?
        /// The payload's bytes, always.
        var payloadBase64: String
        var reason: DeadLetterReason
        var createdAt: Date
        var diedAt: Date

        init(_ letter: DeadLetter) {
            let bytes = Array(letter.payload.readableBytesView)
            self.id = letter.id
            self.user = letter.user
            self.seq = letter.seq
            self.payload = String(validating: bytes, as: UTF8.self)
            self.payloadBase64 = Data(bytes).base64EncodedString()
            self.reason = letter.reason
            self.createdAt = letter.createdAt
            self.diedAt = letter.diedAt
        }
    }

    var deadLetters: [Entry]
    /// The `before` of the next page; null on the last page.
    var next: Int64?

    init(_ page: DeadLetterPage) {
        self.deadLetters = page.deadLetters.map(Entry.init)
        self.next = page.next
    }

    private enum CodingKeys: String, CodingKey {
        case deadLetters, next
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.deadLetters, forKey: .deadLetters)
        // Written as null rather than left out, so clients see the last page plainly.
        try container.encode(self.next, forKey: .next)
    }
}
