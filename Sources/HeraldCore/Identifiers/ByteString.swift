#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A string that equals another only when their UTF-8 bytes do, and hashes by them: the
/// key type of every index of app, user, device and topic ids.
///
/// Swift's `String` equality holds canonically equivalent spellings equal (`"zoë"` composed
/// and decomposed), while the stores compare ids as bytes; keyed by `String`, a token for
/// one spelling would reach the sessions of the other (docs/protocol.md, "Authentication and sessions").
/// The same size as the `String` it wraps.
public struct ByteString: Sendable, Hashable, CustomStringConvertible {
    public var string: String

    @inlinable
    public init(_ string: String) {
        self.string = string
    }

    public var description: String { self.string }

    public static func == (lhs: ByteString, rhs: ByteString) -> Bool {
        let left = lhs.string.utf8
        let right = rhs.string.utf8
        guard left.count == right.count else { return false }
        // Native strings, small ones included, lend their bytes: one memcmp instead of the
        // generic byte-by-byte walk, which was 2% of the server's CPU while clients connected.
        let compared: Bool?? = left.withContiguousStorageIfAvailable { a in
            right.withContiguousStorageIfAvailable { b in
                guard let x = a.baseAddress, let y = b.baseAddress else { return a.count == b.count }
                return memcmp(x, y, a.count) == 0
            }
        }
        if case .some(.some(let equal)) = compared { return equal }
        return left.elementsEqual(right)
    }

    public func hash(into hasher: inout Hasher) {
        let utf8 = self.string.utf8
        let hashed: Void? = utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil {
            Array(utf8).withUnsafeBytes { hasher.combine(bytes: $0) }
        }
        // Never a byte of UTF-8: keeps ("a", "bc") and ("ab", "c") apart in composite keys.
        hasher.combine(0xFF as UInt8)
    }

    /// Whether `lhs` and `rhs` have the same UTF-8 bytes.
    @inlinable
    public static func same(_ lhs: String, _ rhs: String) -> Bool {
        ByteString(lhs) == ByteString(rhs)
    }
}

extension ByteString: Comparable {
    /// Byte-wise order, as the stores order ids.
    public static func < (lhs: ByteString, rhs: ByteString) -> Bool {
        lhs.string.utf8.lexicographicallyPrecedes(rhs.string.utf8)
    }
}

extension ByteString: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        self.init(value)
    }
}
