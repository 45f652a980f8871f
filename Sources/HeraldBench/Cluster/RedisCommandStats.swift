/// The calls of each command a Redis server has run since it started, from `INFO commandstats`.
public struct RedisCommandStats: Sendable, Hashable {
    /// Calls by command name in lowercase (`get`, `client|setname`, `evalsha`, ...).
    public var calls: [String: Int]

    /// The commands the bench's own reading runs (`AUTH`, `INFO`), left out of every count.
    public static let readersOwn: Set<String> = ["auth", "info"]

    /// Creates stats from calls by command.
    public init(calls: [String: Int]) {
        self.calls = calls
    }

    /// Parses the text of `INFO commandstats`: lines `cmdstat_get:calls=5,usec=12,...`; other
    /// lines (the `# Commandstats` heading, blank lines) are skipped.
    public init(info: String) {
        var calls: [String: Int] = [:]
        for line in info.split(whereSeparator: \.isNewline) {
            guard line.hasPrefix("cmdstat_"), let colon = line.firstIndex(of: ":") else { continue }
            let name = line[line.index(line.startIndex, offsetBy: "cmdstat_".count)..<colon].lowercased()
            for field in line[line.index(after: colon)...].split(separator: ",") where field.hasPrefix("calls=") {
                calls[name] = Int(field.dropFirst("calls=".count))
            }
        }
        self.calls = calls
    }

    /// Calls of every command but the reader's own since `earlier`, by command (those that ran).
    public func callsSince(_ earlier: RedisCommandStats) -> [String: Int] {
        var delta: [String: Int] = [:]
        for (name, count) in self.calls where !Self.readersOwn.contains(name) {
            let added = count - (earlier.calls[name] ?? 0)
            if added > 0 { delta[name] = added }
        }
        return delta
    }

    /// Calls of every command but the reader's own since `earlier`.
    public func totalSince(_ earlier: RedisCommandStats) -> Int {
        self.callsSince(earlier).values.reduce(0, +)
    }
}
