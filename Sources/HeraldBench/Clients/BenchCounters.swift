import HeraldWire

/// Counters of one event loop's bench connections. The connection state machines add to them
/// as events happen; the loop publishes a copy for ``BenchClientPool/snapshot()``.
struct BenchCounters: Hashable, Sendable {
    var attempted = 0
    var connected = 0
    var authenticated = 0
    var connectFailures = 0
    var authFailures = 0
    var refusedBusy = 0
    var closedByServer = 0
    var goAways = 0
    var retries = 0
    var timeouts = 0
    var subscribeFailures = 0
    /// A gauge: connections authenticated (and subscribed) now.
    var open = 0
    var pingsSent = 0
    var pongsReceived = 0
    var acksSent = 0
    var errorsReceived = 0
    var protocolErrors = 0
    var userPushes = 0
    var broadcastPushes = 0
    var topicPushes = 0

    mutating func countPush(_ kind: PushKind) {
        switch kind {
        case .user: self.userPushes += 1
        case .broadcast: self.broadcastPushes += 1
        case .topic: self.topicPushes += 1
        }
    }

    /// Adds these counters to `snapshot`.
    func add(to snapshot: inout PoolSnapshot) {
        snapshot.attempted += self.attempted
        snapshot.connected += self.connected
        snapshot.authenticated += self.authenticated
        snapshot.connectFailures += self.connectFailures
        snapshot.authFailures += self.authFailures
        snapshot.refusedBusy += self.refusedBusy
        snapshot.closedByServer += self.closedByServer
        snapshot.goAways += self.goAways
        snapshot.retries += self.retries
        snapshot.timeouts += self.timeouts
        snapshot.subscribeFailures += self.subscribeFailures
        snapshot.open += self.open
        snapshot.pingsSent += self.pingsSent
        snapshot.pongsReceived += self.pongsReceived
        snapshot.acksSent += self.acksSent
        snapshot.errorsReceived += self.errorsReceived
        snapshot.protocolErrors += self.protocolErrors
        for (kind, count) in [
            (PushKind.user, self.userPushes), (.broadcast, self.broadcastPushes), (.topic, self.topicPushes),
        ]
        where count > 0 {
            snapshot.pushes[PoolSnapshot.name(of: kind), default: 0] += count
        }
    }
}
