import HeraldClient
import Logging

/// A ``HeraldClient`` running for a test, whose events the test reads in order.
///
/// The client is closed after `limit` whatever happens, which ends its events: a test
/// waiting for an event that never comes then fails instead of hanging.
final class ClientRun {
    let client: HeraldClient
    private let task: Task<Void, Never>
    private let watchdog: Task<Void, Never>
    private var events: HeraldClientEvents.AsyncIterator

    init(_ configuration: HeraldClientConfiguration, limit: Duration = .seconds(60)) {
        let client = HeraldClient(configuration: configuration, logger: Logger(label: "herald.test.client"))
        self.client = client
        self.task = Task { try? await client.run() }
        self.watchdog = Task {
            try? await Task.sleep(for: limit)
            await client.close()
        }
        self.events = client.events.makeAsyncIterator()
    }

    /// The next event that `match` accepts, skipping the others; nil once the client stopped.
    func next(where match: (HeraldClientEvent) -> Bool) async -> HeraldClientEvent? {
        while let event = await self.events.next() {
            if match(event) { return event }
        }
        return nil
    }

    /// The reason of the first failed connection attempt, or nil if the client connected.
    func firstConnectFailure() async -> String? {
        let event = await self.next { event in
            switch event {
            case .connected: true
            case .disconnected: true
            default: false
            }
        }
        guard case .disconnected(let disconnect) = event, case .connectFailed(let reason) = disconnect.reason else {
            return nil
        }
        return reason
    }

    /// Closes the client and waits for it to stop.
    func stop() async {
        self.watchdog.cancel()
        await self.client.close()
        await self.task.value
    }
}
