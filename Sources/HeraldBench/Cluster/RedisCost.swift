import NIOConcurrencyHelpers
import NIOCore

/// What a run costs the cluster's Redis: readings of its command counts around the parts of a
/// run (the connects, the pushes, the idle hold), turned into figures per AUTH, per request,
/// per second and node, and per heartbeat.
public final class RedisCost: Sendable {
    private struct Recorded: Sendable {
        var figures: [Figure] = []
        var notes: [String] = []
    }

    private let reader: RedisStatsReader
    private let group: any EventLoopGroup
    private let recorded = NIOLockedValueBox(Recorded())

    /// Reads the Redis that `reader` names.
    public init(reader: RedisStatsReader, group: any EventLoopGroup) {
        self.reader = reader
        self.group = group
    }

    /// The command counts now; nil (and a note in the report) when the reading failed.
    public func reading() async -> RedisCommandStats? {
        do {
            return try await self.reader.read(group: self.group)
        } catch {
            let note = "the Redis command counts could not be read at \(self.reader.host):\(self.reader.port): \(error)"
            self.recorded.withLockedValue { recorded in
                if !recorded.notes.contains(note) { recorded.notes.append(note) }
            }
            return nil
        }
    }

    /// Waits until the cluster has done what `clients` new sessions ask of Redis: a node
    /// registers a session in the directory after its AUTH_OK, so the commands go on after the
    /// clients are in. Settled means a reading every ``settleInterval`` adds fewer commands than
    /// ``settleThreshold(clients:)``; gives up (with a note) after `timeout`. Returns the last reading.
    public func settle(clients: Int, timeout: Duration = .seconds(60)) async throws -> RedisCommandStats? {
        guard var last = await self.reading() else { return nil }
        let deadline = ContinuousClock.now + timeout
        let threshold = Self.settleThreshold(clients: clients)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: Self.settleInterval)
            guard let next = await self.reading() else { return nil }
            defer { last = next }
            if next.totalSince(last) < threshold { return next }
        }
        self.recorded.withLockedValue { recorded in
            recorded.notes.append(
                "Redis did not settle within \(timeout) of the connects: more than \(threshold) commands every "
                    + "\(Self.settleInterval) went on, so the figures after it include them")
        }
        return last
    }

    /// How often ``settle(clients:timeout:)`` reads.
    public static let settleInterval = Duration.milliseconds(250)

    /// Commands per ``settleInterval`` below which Redis counts as settled after `clients`
    /// connected: the nodes' own timers stay below it, one command per client and second
    /// (heartbeats that cost a command, say) does not.
    public static func settleThreshold(clients: Int) -> Int {
        max(20, clients / 100)
    }

    /// Records, as figure `key`, the commands run between `before` and `after` per `units`
    /// (nothing when a reading is missing or there are no units).
    public func record(
        _ key: String, _ label: String, from before: RedisCommandStats?, to after: RedisCommandStats?, per units: Double
    ) {
        guard let before, let after, units > 0 else { return }
        let figure = Figure(key, label, Double(after.totalSince(before)) / units, .ratio)
        self.recorded.withLockedValue { $0.figures.append(figure) }
    }

    /// Notes which commands ran between `before` and `after` during `part` ("the idle hold"),
    /// the most called first, so that a figure above what it should be says where it comes from.
    public func noteCommands(during part: String, from before: RedisCommandStats?, to after: RedisCommandStats?) {
        guard let before, let after else { return }
        let calls = after.callsSince(before).sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let listed = calls.prefix(6).map { "\($0.key.uppercased()) \(Format.count($0.value))" }
        let note =
            listed.isEmpty
            ? "Redis ran no command during \(part)"
            : "Redis commands during \(part): \(listed.joined(separator: ", "))"
                + (calls.count > listed.count ? " and \(calls.count - listed.count) more kinds" : "")
        self.recorded.withLockedValue { $0.notes.append(note) }
    }

    /// The figures recorded so far, in order.
    public var figures: [Figure] { self.recorded.withLockedValue { $0.figures } }

    /// Why some figures are missing, if any are.
    public var notes: [String] { self.recorded.withLockedValue { $0.notes } }
}
