import Crypto

/// Random secrets for apps and the admin key.
public enum SecretGenerator {
    /// 32 random bytes as 64 lowercase hex characters.
    public static func make(byteCount: Int = 32) -> String {
        let key = SymmetricKey(size: SymmetricKeySize(bitCount: byteCount * 8))
        return key.withUnsafeBytes { bytes in
            bytes.map { byte in
                let hex = String(byte, radix: 16)
                return hex.count == 1 ? "0" + hex : hex
            }.joined()
        }
    }
}
