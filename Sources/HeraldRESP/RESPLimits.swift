/// Bounds a reply must stay within before Herald accepts it.
///
/// The scanner never allocates the length a reply claims: a length over these bounds is a
/// ``RESPParsingError`` as soon as its digits are read, so a hostile or broken server cannot
/// make the client reserve memory it never sends.
public struct RESPLimits: Hashable, Sendable {
    /// The deepest nesting of aggregates (arrays, maps, sets, pushes, attributes) accepted.
    public var maximumDepth: Int
    /// The longest bulk string, blob error or verbatim string accepted, in bytes.
    public var maximumBulkLength: Int
    /// The most elements (or pairs, for maps) one aggregate may claim.
    public var maximumAggregateCount: Int
    /// The longest line (a simple string, an error, a number) accepted, in bytes.
    public var maximumLineLength: Int

    /// Limits that fit everything a Redis server sends in practice.
    ///
    /// The bulk limit is Redis's own `proto-max-bulk-len` default (512 MiB).
    public init(
        maximumDepth: Int = 32,
        maximumBulkLength: Int = 512 * 1024 * 1024,
        maximumAggregateCount: Int = 1 << 24,
        maximumLineLength: Int = 64 * 1024
    ) {
        self.maximumDepth = maximumDepth
        self.maximumBulkLength = maximumBulkLength
        self.maximumAggregateCount = maximumAggregateCount
        self.maximumLineLength = maximumLineLength
    }

    /// Used to walk bytes that were already validated (with limits no larger than these).
    static let validated = RESPLimits(
        maximumDepth: .max,
        maximumBulkLength: 1 << 40,
        maximumAggregateCount: 1 << 40,
        maximumLineLength: .max
    )
}
