/// One result of a run: a stable key for scripts, a label for people, a value and its unit.
public struct Figure: Sendable, Codable, Hashable {
    /// How a value is shown.
    public enum Unit: String, Sendable, Codable, Hashable {
        /// A plain count.
        case count
        /// Per second.
        case perSecond
        /// Seconds.
        case seconds
        /// Milliseconds.
        case milliseconds
        /// Microseconds.
        case microseconds
        /// Bytes.
        case bytes
        /// A count per something that may be fractional (Redis commands per AUTH, say).
        case ratio
    }

    /// A stable camel-case key, for example `connectionsPerSecond`.
    public var key: String
    /// What the table says.
    public var label: String
    /// The value.
    public var value: Double
    /// Its unit.
    public var unit: Unit

    /// Creates a figure.
    public init(_ key: String, _ label: String, _ value: Double, _ unit: Unit) {
        self.key = key
        self.label = label
        self.value = value
        self.unit = unit
    }

    /// The value as the table shows it.
    public var formatted: String {
        switch self.unit {
        case .count: Format.count(Int(self.value.rounded()))
        case .perSecond: Format.count(Int(self.value.rounded())) + " /s"
        case .seconds: Format.fixed(self.value, 3) + " s"
        case .milliseconds: Format.milliseconds(self.value) + " ms"
        case .microseconds: Format.fixed(self.value, 1) + " µs"
        case .bytes: Format.bytes(self.value)
        case .ratio:
            // Small enough to show that nothing scales with it, and digits enough to tell.
            self.value == 0
                ? "0" : Format.fixed(self.value, self.value < 0.01 ? 4 : self.value < 10 ? 2 : 1)
        }
    }
}
