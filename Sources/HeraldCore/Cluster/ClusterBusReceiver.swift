import HeraldWire
import Logging

/// Runs on this node what other nodes publish for it: user messages, broadcasts and topic
/// messages through the gateway, kicks and replacements as GOAWAYs, app changes as reloads
/// of the ``AppRegistry``. After a lost subscription it reloads every app and restores the
/// node's sessions in the directory, since it may have missed changes of both.
public struct ClusterBusReceiver<Gateway: ClusterGateway>: Sendable {
    private let gateway: Gateway
    private let bus: any MessageBus
    private let directory: any SessionDirectory
    private let catalog: any AppCatalog
    private let apps: AppRegistry
    private let logger: Logger

    /// Creates the receiver of the node `gateway` serves.
    public init(
        gateway: Gateway,
        bus: any MessageBus,
        directory: any SessionDirectory,
        catalog: any AppCatalog,
        apps: AppRegistry,
        logger: Logger
    ) {
        self.gateway = gateway
        self.bus = bus
        self.directory = directory
        self.catalog = catalog
        self.apps = apps
        self.logger = logger
    }

    /// Subscribes and handles each message in turn until the task is cancelled.
    ///
    /// A recovery after a lost subscription reads the store and Redis, either of which may be
    /// slow just then, so it runs beside the messages, which are for sessions this node holds
    /// whatever it finds. App changes run after it, in order, so that a recovery's older list
    /// of apps never overwrites a newer change.
    public func run() async {
        var background: Task<Void, Never>?
        for await event in self.bus.subscribe(node: self.gateway.nodeID) {
            switch event {
            case .message(let message):
                self.logger.debug(
                    "A bus message arrived.", metadata: ["from": "\(message.origin)", "message": "\(Self.summary(message.body))"])
                guard case .appChanged(let app) = message.body else {
                    await self.handle(message.body)
                    continue
                }
                background = Task { [previous = background] in
                    await previous?.value
                    await self.reload(app: app)
                }
            case .resubscribed:
                background = Task { [previous = background] in
                    await previous?.value
                    await self.recover()
                }
            }
        }
        background?.cancel()
        await background?.value
    }

    /// Runs one bus message on this node.
    public func handle(_ body: BusMessage.Body) async {
        switch body {
        case .userMessages(let app, let messages):
            let written = await self.gateway.sendUserMessages(app: app, messages)
            self.logger.debug(
                "Messages from another node were written to this node's sessions.",
                metadata: ["app": "\(app)", "sessions": "\(written.reduce(0, +))"])
        case .broadcast(let app, let seq, let payload):
            _ = await self.gateway.broadcast(app: app, seq: seq, payload: payload)
        case .topic(let app, let topic, let payload):
            _ = await self.gateway.publish(app: app, topic: topic, payload: payload)
        case .kick(let app, let user, let device):
            _ = await self.gateway.kick(app: app, user: user, device: device)
        case .replace(let displaced):
            _ = await self.gateway.endSession(displaced.id, reason: .replaced)
        case .appChanged(let app):
            await self.reload(app: app)
        }
    }

    /// What a message is, for the debug log.
    private static func summary(_ body: BusMessage.Body) -> String {
        switch body {
        case .userMessages(let app, let messages): "\(messages.count) message(s) for users of app \(app)"
        case .broadcast(let app, let seq, _): "broadcast \(seq) of app \(app)"
        case .topic(let app, let topic, _): "a message on topic \(topic) of app \(app)"
        case .kick(let app, let user, _): "a kick of user \(user) of app \(app)"
        case .replace(let displaced): "the end of replaced session \(displaced.id)"
        case .appChanged(let app): "a change of app \(app)"
        }
    }

    /// Takes the app as the catalog has it now: created or changed, or gone.
    private func reload(app id: String) async {
        do {
            if let app = try await self.catalog.app(id: id) {
                self.apps.upsert(app)
            } else {
                self.apps.remove(id: id)
            }
        } catch {
            self.logger.warning(
                "An app changed on another node could not be reloaded from the store.",
                metadata: ["app": "\(id)", "error": "\(error)"]
            )
        }
    }

    /// Reloads every app and registers the node's sessions again.
    private func recover() async {
        do {
            try await self.apps.load(from: self.catalog)
        } catch {
            self.logger.warning("The apps could not be reloaded from the store.", metadata: ["error": "\(error)"])
        }
        do {
            try await self.directory.restore(node: self.gateway.nodeID, sessions: await self.gateway.localSessions())
        } catch {
            self.logger.warning(
                "The node's sessions could not be restored in the directory.", metadata: ["error": "\(error)"])
        }
    }
}
