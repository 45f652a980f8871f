import Crypto
import HTTPTypes
import NIOCore

/// The fingerprint an idempotency record keeps of its request: SHA-256 (hex) of a
/// canonical encoding of the validated request, so a retry matches whatever the JSON's
/// key order, whitespace, escapes or payload form (text or base64) and whether a default
/// was spelled out (the TTL is the one applied).
///
/// Encoding, version 1: the tag `herald.idempotency.v1`, the endpoint, the number of
/// entries, then per entry a kind byte (0 QoS 0, 1 QoS 1, 2 invalid) and its fields.
/// Strings and bytes are length-prefixed (UInt32, big-endian) so no two requests encode
/// alike. An invalid batch entry is encoded by its error, so fixing it changes the request.
enum IdempotencyFingerprint {
    /// The endpoint a request came to: the same body on another endpoint is another request.
    enum Endpoint: String, Sendable {
        case message
        case batch
    }

    static func make(endpoint: Endpoint, entries: [Result<ValidatedMessage, APIError>]) -> String {
        var bytes: [UInt8] = []
        Self.append(string: "herald.idempotency.v1", to: &bytes)
        Self.append(string: endpoint.rawValue, to: &bytes)
        Self.append(integer: UInt32(truncatingIfNeeded: entries.count), to: &bytes)
        for entry in entries {
            switch entry {
            case .success(let message):
                switch message.delivery {
                case .live:
                    bytes.append(0)
                case .stored(let stored):
                    bytes.append(1)
                    Self.append(integer: UInt64(truncatingIfNeeded: stored.ttl), to: &bytes)
                    if let collapseKey = stored.collapseKey {
                        bytes.append(1)
                        Self.append(string: collapseKey, to: &bytes)
                    } else {
                        bytes.append(0)
                    }
                }
                Self.append(integer: UInt32(truncatingIfNeeded: message.users.count), to: &bytes)
                for user in message.users { Self.append(string: user, to: &bytes) }
                Self.append(data: Array(message.payload.readableBytesView), to: &bytes)
            case .failure(let error):
                bytes.append(2)
                Self.append(integer: UInt32(truncatingIfNeeded: error.status.code), to: &bytes)
                Self.append(string: error.code, to: &bytes)
                Self.append(string: error.message, to: &bytes)
            }
        }
        return SHA256.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    private static func append(string: String, to bytes: inout [UInt8]) {
        Self.append(data: Array(string.utf8), to: &bytes)
    }

    private static func append(data: [UInt8], to bytes: inout [UInt8]) {
        Self.append(integer: UInt32(truncatingIfNeeded: data.count), to: &bytes)
        bytes.append(contentsOf: data)
    }

    private static func append<I: FixedWidthInteger>(integer: I, to bytes: inout [UInt8]) {
        let bigEndian = integer.bigEndian
        withUnsafeBytes(of: bigEndian) { bytes.append(contentsOf: $0) }
    }
}
