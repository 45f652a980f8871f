import NIOCore

extension AuthRequest {
    /// Decodes an AUTH body: the common first AUTH, `{"token":"..."}` with a token of plain
    /// printable ASCII (as JWTs are), is read directly; anything else goes through
    /// `JSONDecoder`, which reads what the fast path reads the same way.
    static func decode(from body: ByteBuffer) throws(ProtocolError) -> AuthRequest {
        if let token = Self.plainToken(body) {
            return AuthRequest(token: token)
        }
        return try WireJSON.decode(AuthRequest.self, from: body, op: .auth)
    }

    /// The token of a body that is exactly `{"token":"<printable ASCII, no quote or
    /// backslash>"}`, or nil.
    private static func plainToken(_ body: ByteBuffer) -> String? {
        body.withUnsafeReadableBytes { raw -> String? in
            var scanner = PlainJSONScanner(raw.bindMemory(to: UInt8.self))
            guard scanner.take(UInt8(ascii: "{")), let key = scanner.plainString(), key.elementsEqual("token".utf8),
                scanner.take(UInt8(ascii: ":")), let token = scanner.plainString(),
                scanner.take(UInt8(ascii: "}")), scanner.isAtEnd
            else { return nil }
            return String(decoding: token, as: UTF8.self)
        }
    }
}
