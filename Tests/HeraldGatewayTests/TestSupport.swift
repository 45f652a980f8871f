import Foundation
import HeraldCore
import HeraldWire
import NIOCore

@testable import HeraldGateway

/// Shared fixtures for the gateway tests.
enum Fixtures {
    static let app = App(id: "demo", secret: "demo-secret", epoch: "epoch-1", createdAt: Date(timeIntervalSince1970: 0))
    static let otherApp = App(
        id: "other",
        secret: "other-secret",
        epoch: "epoch-9",
        createdAt: Date(timeIntervalSince1970: 0)
    )

    static func verified(
        app: App = Fixtures.app,
        user: String = "alice",
        device: String? = "phone",
        topics: [String]? = nil
    ) -> VerifiedToken {
        VerifiedToken(
            app: app,
            claims: TokenClaims(app: app.id, sub: user, dev: device, exp: Int64.max / 2, topics: topics)
        )
    }

    static func token(
        app: App = Fixtures.app,
        user: String = "alice",
        device: String? = "phone",
        topics: [String]? = nil,
        expiresIn: Int64 = 3600
    ) -> String {
        let exp = Int64(Date().timeIntervalSince1970) + expiresIn
        return TokenSigner.sign(
            TokenClaims(app: app.id, sub: user, dev: device, exp: exp, topics: topics),
            secret: app.secret
        )
    }

    static func plan(epoch: String = "epoch-1", pushes: [ReplayPlan.Push] = [], more: ReplayContinuation? = nil)
        -> ReplayPlan
    {
        ReplayPlan(epoch: epoch, recovered: AuthOK.Recovered(inbox: true, broadcast: true), pushes: pushes, more: more)
    }

    static func buffer(_ string: String) -> ByteBuffer {
        ByteBuffer(string: string)
    }

    /// The bytes of a whole client frame.
    static func bytes(_ message: ClientMessage) -> ByteBuffer {
        var buffer = ByteBuffer()
        message.write(into: &buffer)
        return buffer
    }

    /// Decodes every whole server frame in `buffer`.
    static func serverMessages(in buffer: inout ByteBuffer) throws -> [ServerMessage] {
        var messages: [ServerMessage] = []
        let decoder = FrameDecoder()
        while let frame = try decoder.next(from: &buffer) {
            messages.append(try ServerMessage(frame))
        }
        return messages
    }
}

extension ServerMessage {
    /// The error code, if this is an ERROR.
    var errorCode: ErrorCode? {
        if case .error(_, let body) = self { return body.errorCode }
        return nil
    }
}
