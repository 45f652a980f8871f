import NIOConcurrencyHelpers
import NIOCore

/// The controller's end of one agent connection: sends requests, and matches each answer
/// to its request by id.
public final class AgentLink: Sendable {
    /// An agent that stopped answering, or answered with an error.
    public struct Failure: Error, CustomStringConvertible {
        /// Which agent.
        public var agent: String
        /// What went wrong.
        public var message: String
        public var description: String { "agent \(self.agent): \(self.message)" }
    }

    private struct State {
        var nextID = 1
        var waiting: [Int: CheckedContinuation<AgentEvent, any Error>] = [:]
        var info: AgentInfo?
        var infoWaiters: [CheckedContinuation<AgentInfo, any Error>] = []
        /// Set once the connection is gone; every later request fails with it.
        var closedReason: String?
    }

    /// A name for messages: the agent's address, or "worker N".
    public let name: String
    private let channel: any Channel
    private let state = NIOLockedValueBox(State())

    init(name: String, channel: any Channel) {
        self.name = name
        self.channel = channel
    }

    /// The agent's hello: waits for it if it has not come yet.
    public func info() async throws -> AgentInfo {
        try await withCheckedThrowingContinuation { continuation in
            let result: Result<AgentInfo, any Error>? = self.state.withLockedValue { state in
                if let info = state.info { return .success(info) }
                if let reason = state.closedReason { return .failure(Failure(agent: self.name, message: reason)) }
                state.infoWaiters.append(continuation)
                return nil
            }
            if let result { continuation.resume(with: result) }
        }
    }

    /// Sends `command` and waits for its answer; an ``AgentEvent/failed(_:)`` answer is thrown.
    public func request(_ command: AgentCommand) async throws -> AgentEvent {
        let event: AgentEvent = try await withCheckedThrowingContinuation { continuation in
            let id: Int? = self.state.withLockedValue { state in
                guard state.closedReason == nil else { return nil }
                let id = state.nextID
                state.nextID += 1
                state.waiting[id] = continuation
                return id
            }
            guard let id else {
                let reason = self.state.withLockedValue { $0.closedReason } ?? "closed"
                continuation.resume(throwing: Failure(agent: self.name, message: reason))
                return
            }
            do {
                let line = try AgentWire.encode(AgentRequest(id: id, command: command))
                self.channel.writeAndFlush(line).whenFailure { error in
                    self.closed(reason: "cannot send to it: \(error)")
                }
            } catch {
                self.state.withLockedValue { _ = $0.waiting.removeValue(forKey: id) }
                continuation.resume(throwing: error)
            }
        }
        if case .failed(let message) = event { throw Failure(agent: self.name, message: message) }
        return event
    }

    /// Closes the connection; pending requests fail.
    public func close() async {
        try? await self.channel.close()
        self.closed(reason: "closed by the controller")
    }

    /// An answer arrived (on the channel's event loop).
    func received(_ reply: AgentReply) {
        if case .hello(let info) = reply.event {
            let waiters = self.state.withLockedValue { state in
                state.info = info
                defer { state.infoWaiters = [] }
                return state.infoWaiters
            }
            for waiter in waiters { waiter.resume(returning: info) }
            return
        }
        let waiter = self.state.withLockedValue { $0.waiting.removeValue(forKey: reply.id) }
        if let waiter {
            waiter.resume(returning: reply.event)
        } else if case .failed(let message) = reply.event {
            // An error about no request in particular (an unreadable line): nobody to tell but all.
            self.closed(reason: message)
        }
    }

    /// The connection ended: fail everything still waiting.
    func closed(reason: String) {
        let (waiting, infoWaiters) = self.state.withLockedValue { state in
            if state.closedReason == nil { state.closedReason = reason }
            defer {
                state.waiting = [:]
                state.infoWaiters = []
            }
            return (Array(state.waiting.values), state.infoWaiters)
        }
        let failure = Failure(agent: self.name, message: reason)
        for waiter in waiting { waiter.resume(throwing: failure) }
        for waiter in infoWaiters { waiter.resume(throwing: failure) }
    }
}
