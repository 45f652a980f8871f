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
        let prefix = #"{"token":""#.utf8
        let suffix = #""}"#.utf8
        return body.withUnsafeReadableBytes { bytes -> String? in
            guard bytes.count >= prefix.count + suffix.count, bytes.starts(with: prefix),
                bytes[(bytes.count - suffix.count)...].elementsEqual(suffix)
            else { return nil }
            let token = UnsafeRawBufferPointer(rebasing: bytes[prefix.count..<(bytes.count - suffix.count)])
            for byte in token where byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return nil
            }
            return String(decoding: token, as: UTF8.self)
        }
    }
}
