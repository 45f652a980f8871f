import NIOCore
import Testing

@testable import HeraldRedis

@Suite("the shard subscriber's decisions, driven without sockets")
struct RedisShardSubscriberStateMachineTests {
    typealias Machine = RedisShardSubscriberStateMachine

    static let a = RedisClusterNode(host: "127.0.0.1", port: 7000)
    static let b = RedisClusterNode(host: "127.0.0.1", port: 7001)
    static let c = RedisClusterNode(host: "127.0.0.1", port: 7002)
    /// The replica promoted in `a`'s place.
    static let promoted = RedisClusterNode(host: "127.0.0.1", port: 7003)

    static let firstThird = 0...5460
    static let secondThird = 5461...10922
    static let lastThird = 10923...16383

    /// Three primaries, a third of the slots each; `first` serves the first third (nobody when nil).
    static func map(
        first: RedisClusterNode? = RedisShardSubscriberStateMachineTests.a, moving slot: Int? = nil,
        to node: RedisClusterNode? = nil
    ) -> RedisClusterSlotMap {
        var shards = [
            RedisClusterSlotMap.Shard(slots: [Self.secondThird], primary: Self.b),
            RedisClusterSlotMap.Shard(slots: [Self.lastThird], primary: Self.c),
        ]
        if let first { shards.insert(RedisClusterSlotMap.Shard(slots: [Self.firstThird], primary: first), at: 0) }
        var map = RedisClusterSlotMap(shards: shards)
        if let slot, let node { map.assign(slot: slot, to: node) }
        return map
    }

    /// The `index`th channel name whose slot is in `range`.
    static func channel(in range: ClosedRange<Int>, _ index: Int = 0) -> String {
        var found = 0
        for number in 0... {
            let name = "bus:\(number)"
            guard range.contains(RedisClusterKeySlot.slot(forKey: name)) else { continue }
            if found == index { return name }
            found += 1
        }
        fatalError("unreachable")
    }

    static let a1 = channel(in: firstThird, 0)
    static let a2 = channel(in: firstThird, 1)
    static let b1 = channel(in: secondThird, 0)
    static let c1 = channel(in: lastThird, 0)

    /// The actions as sentences a test can compare; ticket numbers left out.
    static func summary(_ actions: [Machine.Action]) -> [String] {
        actions.map { action in
            switch action {
            case .subscribe(let tickets, let node):
                "SSUBSCRIBE \(tickets.map(\.channel).joined(separator: " ")) at \(node)"
            case .readMap(let attempt, let fresh, let avoiding):
                "read the \(fresh ? "cluster's" : "client's") map, attempt \(attempt)"
                    + (avoiding.isEmpty
                        ? "" : ", asking \(avoiding.map(\.description).sorted().joined(separator: " ")) last")
            case .report(.disconnected):
                "report disconnected"
            case .report(.reconnected):
                "report reconnected"
            case .report(.message):
                "report a message"
            }
        }
    }

    /// The tickets of every `subscribe` among `actions`, with their node.
    static func tickets(_ actions: [Machine.Action]) -> [(Machine.Ticket, RedisClusterNode)] {
        actions.flatMap { action -> [(Machine.Ticket, RedisClusterNode)] in
            guard case .subscribe(let tickets, let node) = action else { return [] }
            return tickets.map { ($0, node) }
        }
    }

    /// Confirms every ticket of `actions`, returning what the confirmations asked for.
    static func confirm(_ actions: [Machine.Action], on machine: inout Machine) -> [Machine.Action] {
        Self.tickets(actions).flatMap { machine.subscribed($0.0, at: $0.1) }
    }

    static func moved(_ channel: String, to node: RedisClusterNode) -> RedisClientError {
        RedisClientError(.commandError, message: "MOVED \(RedisClusterKeySlot.slot(forKey: channel)) \(node)")
    }

    /// A machine with `channels` subscribed on the three-primary map.
    static func subscribed(_ channels: [String]) -> Machine {
        var machine = Machine()
        _ = machine.subscribe(channels)
        let placed = machine.mapRead(Self.map())
        #expect(Self.confirm(placed, on: &machine).isEmpty)
        #expect(machine.isSubscribed(channels))
        return machine
    }

    @Test("channels are grouped by the primary that serves their slot, once the map is read")
    func grouping() {
        var machine = Machine()
        let first = machine.subscribe([Self.c1, Self.a2, Self.b1, Self.a1])
        #expect(Self.summary(first) == ["read the client's map, attempt 0"])
        // Asked again while the read is under way, it waits for that read.
        #expect(machine.subscribe([Self.a1]).isEmpty)

        let placed = machine.mapRead(Self.map())
        #expect(
            Self.summary(placed) == [
                "SSUBSCRIBE \([Self.a1, Self.a2].sorted().joined(separator: " ")) at \(Self.a)",
                "SSUBSCRIBE \(Self.b1) at \(Self.b)",
                "SSUBSCRIBE \(Self.c1) at \(Self.c)",
            ])
        #expect(machine.nodes == [Self.a, Self.b, Self.c])
        #expect(!machine.isSubscribed([Self.a1]))

        // Confirmations report nothing: nothing was lost.
        #expect(Self.confirm(placed, on: &machine).isEmpty)
        #expect(machine.isSubscribed([Self.a1, Self.a2, Self.b1, Self.c1]))
        #expect(machine.node(of: Self.a2) == Self.a)
        #expect(machine.node(of: Self.c1) == Self.c)

        // A channel added later goes straight to its primary, by the map it has.
        let b2 = Self.channel(in: Self.secondThird, 1)
        let added = machine.subscribe([b2, Self.a1])
        #expect(Self.summary(added) == ["SSUBSCRIBE \(b2) at \(Self.b)"])
        #expect(machine.channels == [Self.a1, Self.a2, Self.b1, Self.c1, b2])
    }

    @Test(
        "an unprompted sunsubscribe: the channel follows its slot to the owner a fresh map names, and the gap is reported"
    )
    func subscriptionEnded() {
        var machine = Self.subscribed([Self.a1, Self.b1])
        // Only the node that holds the subscription can end it.
        #expect(machine.subscriptionEnded(Self.a1, at: Self.b).isEmpty)
        #expect(machine.subscriptionEnded("never subscribed", at: Self.a).isEmpty)

        let ended = machine.subscriptionEnded(Self.a1, at: Self.a)
        #expect(Self.summary(ended) == ["report disconnected", "read the cluster's map, attempt 0"])
        guard case .report(.disconnected(let error))? = ended.first else { return }
        #expect(error.code == .subscriptionEnded)
        #expect(machine.node(of: Self.a1) == nil)
        #expect(machine.node(of: Self.b1) == Self.b)

        let slot = RedisClusterKeySlot.slot(forKey: Self.a1)
        let placed = machine.mapRead(Self.map(moving: slot, to: Self.c))
        #expect(Self.summary(placed) == ["SSUBSCRIBE \(Self.a1) at \(Self.c)"])
        #expect(Self.summary(Self.confirm(placed, on: &machine)) == ["report reconnected"])
        #expect(machine.node(of: Self.a1) == Self.c)
        #expect(machine.channels == [Self.a1, Self.b1])
        // The connection to the first primary is no longer needed.
        #expect(machine.nodes == [Self.b, Self.c])
    }

    @Test("a MOVED answer sends the subscription straight to the named node, and the map learns it")
    func moved() {
        var machine = Machine()
        _ = machine.subscribe([Self.a1])
        let placed = machine.mapRead(Self.map())
        let (ticket, node) = Self.tickets(placed)[0]
        #expect(node == Self.a)

        let redirected = machine.subscribeFailed(ticket, at: Self.a, error: Self.moved(Self.a1, to: Self.b))
        #expect(Self.summary(redirected) == ["SSUBSCRIBE \(Self.a1) at \(Self.b)"])
        // The first attempt's answer, should it come late, changes nothing.
        #expect(machine.subscribed(ticket, at: Self.a).isEmpty)
        // No loss to report: the channel had not been subscribed yet.
        #expect(Self.confirm(redirected, on: &machine).isEmpty)
        #expect(machine.node(of: Self.a1) == Self.b)

        // Another channel of the same slot goes to the new owner at once.
        let sameSlot = Self.sameSlot(as: Self.a1)
        #expect(Self.summary(machine.subscribe([sameSlot])) == ["SSUBSCRIBE \(sameSlot) at \(Self.b)"])
    }

    /// Another channel name in the slot of `channel`.
    static func sameSlot(as channel: String) -> String {
        let slot = RedisClusterKeySlot.slot(forKey: channel)
        for number in 0... {
            let name = "other:\(number)"
            if RedisClusterKeySlot.slot(forKey: name) == slot { return name }
        }
        fatalError("unreachable")
    }

    @Test("MOVED answers past the limit, and refusals, wait for a fresh map by the backoff instead")
    func redirectLimitAndRefusals() {
        var machine = Machine(maximumRedirects: 2)
        _ = machine.subscribe([Self.a1])
        var actions = machine.mapRead(Self.map())
        var (ticket, node) = Self.tickets(actions)[0]
        // A and B keep sending each other: two redirects are followed, the third is not.
        for next in [Self.b, Self.a] {
            actions = machine.subscribeFailed(ticket, at: node, error: Self.moved(Self.a1, to: next))
            #expect(Self.summary(actions) == ["SSUBSCRIBE \(Self.a1) at \(next)"])
            (ticket, node) = Self.tickets(actions)[0]
        }
        actions = machine.subscribeFailed(ticket, at: node, error: Self.moved(Self.a1, to: Self.b))
        // The first read of the map did not get it subscribed: this one waits by the backoff.
        #expect(Self.summary(actions) == ["report disconnected", "read the cluster's map, attempt 1"])
        actions = machine.mapRead(Self.map())
        #expect(Self.summary(actions) == ["SSUBSCRIBE \(Self.a1) at \(Self.a)"])
        #expect(Self.summary(Self.confirm(actions, on: &machine)) == ["report reconnected"])

        // The cluster, down while a replica is promoted, refuses b1: it waits for a read too.
        (ticket, node) = Self.tickets(machine.subscribe([Self.b1]))[0]
        #expect(node == Self.b)
        let refused = RedisClientError(.commandError, message: "CLUSTERDOWN The cluster is down")
        #expect(
            Self.summary(machine.subscribeFailed(ticket, at: node, error: refused)) == [
                "report disconnected", "read the cluster's map, attempt 0",
            ])
        #expect(machine.node(of: Self.a1) == Self.a)
        actions = machine.mapRead(Self.map())
        #expect(Self.summary(actions) == ["SSUBSCRIBE \(Self.b1) at \(Self.b)"])
        #expect(Self.summary(Self.confirm(actions, on: &machine)) == ["report reconnected"])
    }

    @Test(
        "a lost connection: its channels wait for a fresh map that asks the lost node last, by the backoff while no primary serves their slot"
    )
    func connectionLost() {
        var machine = Self.subscribed([Self.a1, Self.a2, Self.b1])
        let lost = machine.connectionLost(Self.a, error: RedisClientError(.connectionClosed))
        #expect(
            Self.summary(lost) == ["report disconnected", "read the cluster's map, attempt 0, asking \(Self.a) last"])
        #expect(machine.node(of: Self.a1) == nil && machine.node(of: Self.a2) == nil)
        #expect(machine.node(of: Self.b1) == Self.b)
        // Losing it again, or a node that holds nothing, changes nothing.
        #expect(machine.connectionLost(Self.a, error: RedisClientError(.connectionClosed)).isEmpty)
        #expect(machine.connectionLost(Self.c, error: RedisClientError(.connectionClosed)).isEmpty)

        // The replica has not taken over yet: no primary serves the slots.
        #expect(Self.summary(machine.mapRead(Self.map(first: nil))) == ["read the cluster's map, attempt 1"])
        #expect(
            Self.summary(machine.mapReadFailed(RedisClientError(.slotNotServed))) == [
                "read the cluster's map, attempt 2"
            ])
        // A map that still names the dead primary: the connection fails, and the next read waits longer.
        var placed = machine.mapRead(Self.map())
        #expect(
            Self.summary(placed) == ["SSUBSCRIBE \([Self.a1, Self.a2].sorted().joined(separator: " ")) at \(Self.a)"])
        let refused = RedisClientError(.connectFailed, message: "127.0.0.1:7000 could not be reached")
        let failures = Self.tickets(placed).flatMap { machine.subscribeFailed($0.0, at: $0.1, error: refused) }
        #expect(Self.summary(failures) == ["read the cluster's map, attempt 3, asking \(Self.a) last"])

        // The replica took over.
        placed = machine.mapRead(Self.map(first: Self.promoted))
        #expect(
            Self.summary(placed) == [
                "SSUBSCRIBE \([Self.a1, Self.a2].sorted().joined(separator: " ")) at \(Self.promoted)"
            ])
        let confirmed = Self.confirm(placed, on: &machine)
        #expect(Self.summary(confirmed) == ["report reconnected"])
        #expect(machine.isSubscribed([Self.a1, Self.a2, Self.b1]))
        #expect(machine.nodes == [Self.promoted, Self.b])

        // The backoff starts again from nothing.
        #expect(
            Self.summary(machine.connectionLost(Self.b, error: RedisClientError(.connectionClosed))) == [
                "report disconnected", "read the cluster's map, attempt 0, asking \(Self.b) last",
            ])
    }

    @Test("a first subscription that has to wait reports the wait, as a lost one does")
    func firstSubscriptionWaits() {
        var machine = Machine()
        _ = machine.subscribe([Self.a1])
        #expect(
            Self.summary(machine.mapReadFailed(RedisClientError(.slotNotServed))) == [
                "report disconnected", "read the cluster's map, attempt 1",
            ])
        let placed = machine.mapRead(Self.map())
        #expect(Self.summary(Self.confirm(placed, on: &machine)) == ["report reconnected"])
    }

    @Test(
        "under any order of events, no channel is ever dropped, and a healthy cluster gets them all subscribed",
        arguments: 1...20)
    func nothingLost(seed: Int) {
        var random = SplitMix(seed: UInt64(seed))
        var driver = Driver()
        var expected: Set<String> = [Self.a1, Self.b1]
        driver.run { $0.subscribe(expected) }
        let nodes = [Self.a, Self.b, Self.c, Self.promoted]
        let maps = [
            Self.map(), Self.map(first: nil), Self.map(first: Self.promoted),
            Self.map(moving: RedisClusterKeySlot.slot(forKey: Self.b1), to: Self.c),
        ]
        let extra = [Self.a2, Self.c1, Self.sameSlot(as: Self.b1)]
        for _ in 0..<300 {
            switch Int.random(in: 0..<9, using: &random) {
            case 0, 1:
                if case let (ticket, node)? = driver.takeTicket(using: &random) {
                    driver.run { $0.subscribed(ticket, at: node) }
                }
            case 2:
                if case let (ticket, node)? = driver.takeTicket(using: &random) {
                    let target = nodes.randomElement(using: &random) ?? Self.a
                    driver.run { $0.subscribeFailed(ticket, at: node, error: Self.moved(ticket.channel, to: target)) }
                }
            case 3:
                if case let (ticket, node)? = driver.takeTicket(using: &random) {
                    let error =
                        Bool.random(using: &random)
                        ? RedisClientError(.commandError, message: "CLUSTERDOWN The cluster is down")
                        : RedisClientError(.connectFailed)
                    driver.run { $0.subscribeFailed(ticket, at: node, error: error) }
                }
            case 4:
                let node = nodes.randomElement(using: &random) ?? Self.a
                driver.run { $0.connectionLost(node, error: RedisClientError(.connectionClosed)) }
            case 5:
                let channel = expected.sorted().randomElement(using: &random) ?? Self.a1
                let node = nodes.randomElement(using: &random) ?? Self.a
                driver.run { $0.subscriptionEnded(channel, at: node) }
            case 6, 7:
                guard driver.isReadingMap else { continue }
                driver.isReadingMap = false
                if Int.random(in: 0..<4, using: &random) == 0 {
                    driver.run { $0.mapReadFailed(RedisClientError(.slotNotServed)) }
                } else {
                    let map = maps.randomElement(using: &random) ?? Self.map()
                    driver.run { $0.mapRead(map) }
                }
            default:
                let channel = extra.randomElement(using: &random) ?? Self.a2
                expected.insert(channel)
                driver.run { $0.subscribe([channel]) }
            }
            #expect(driver.machine.channels == expected)
            for channel in expected where driver.machine.node(of: channel) == nil {
                // Not subscribed: something under way will place it.
                #expect(
                    driver.isReadingMap || driver.isPending(channel), "\(channel) is neither subscribed nor on its way")
            }
        }
        // The cluster settles: every read gives the healthy map, every subscription is confirmed.
        for _ in 0..<20 where !driver.machine.isSubscribed(expected) {
            if driver.isReadingMap {
                driver.isReadingMap = false
                driver.run { $0.mapRead(Self.map()) }
            }
            while case let (ticket, node)? = driver.takeTicket(using: &random) {
                driver.run { $0.subscribed(ticket, at: node) }
            }
        }
        #expect(driver.machine.isSubscribed(expected))
        #expect(!driver.isDown)
    }

    /// Plays the subscriber's part: keeps the tickets sent and whether a read of the map is
    /// under way, and checks the reports alternate.
    struct Driver {
        var machine = Machine()
        var pending: [(Machine.Ticket, RedisClusterNode)] = []
        var latest: [String: Int] = [:]
        var isReadingMap = false
        var isDown = false

        /// Feeds the machine one event and carries out what it asks for.
        mutating func run(_ event: (inout Machine) -> [Machine.Action]) {
            for action in event(&self.machine) {
                switch action {
                case .subscribe(let tickets, let node):
                    for ticket in tickets {
                        self.pending.append((ticket, node))
                        self.latest[ticket.channel] = ticket.number
                    }
                case .readMap:
                    #expect(!self.isReadingMap, "a second read of the map while one is under way")
                    self.isReadingMap = true
                case .report(.disconnected):
                    #expect(!self.isDown, "disconnected reported twice")
                    self.isDown = true
                case .report(.reconnected):
                    #expect(self.isDown, "reconnected reported without a disconnection")
                    self.isDown = false
                case .report(.message):
                    Issue.record("the machine reported a message")
                }
            }
        }

        /// A ticket sent and not answered yet, taken at random (stale ones included).
        mutating func takeTicket(using random: inout SplitMix) -> (Machine.Ticket, RedisClusterNode)? {
            guard !self.pending.isEmpty else { return nil }
            return self.pending.remove(at: Int.random(in: 0..<self.pending.count, using: &random))
        }

        func isPending(_ channel: String) -> Bool {
            self.pending.contains { $0.0.channel == channel && $0.0.number == self.latest[channel] }
        }
    }

    /// A small seeded generator, so that a failing seed can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64

        init(seed: UInt64) {
            self.state = seed
        }

        mutating func next() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var z = self.state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
