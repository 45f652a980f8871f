/// One line from agent to controller: `{"op": "connected", "id": 1, "outcome": {...}}`,
/// `{"op": "snapshot", "id": 2, "snapshot": {...}}`, `{"op": "error", "id": 3, "message": "..."}`, ...
///
/// `id` is the request's; the unsolicited `hello` and errors about unreadable lines carry 0.
public struct AgentReply: Sendable, Codable {
    /// The id of the request answered, 0 for none.
    public var id: Int
    /// The answer.
    public var event: AgentEvent

    /// Creates a reply.
    public init(id: Int, event: AgentEvent) {
        self.id = id
        self.event = event
    }

    private enum CodingKeys: String, CodingKey {
        case op, id, agent, outcome, snapshot, message
    }

    /// Decodes the flat JSON form; an unknown `op` is a decoding error.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decodeIfPresent(Int.self, forKey: .id) ?? 0
        let op = try container.decode(String.self, forKey: .op)
        switch op {
        case "hello": self.event = .hello(try container.decode(AgentInfo.self, forKey: .agent))
        case "connected": self.event = .connected(try container.decode(ConnectOutcome.self, forKey: .outcome))
        case "snapshot": self.event = .snapshot(try container.decode(AgentSnapshot.self, forKey: .snapshot))
        case "reset": self.event = .reset
        case "dropped": self.event = .dropped
        case "reconnected": self.event = .reconnected(try container.decode(ConnectOutcome.self, forKey: .outcome))
        case "stopped": self.event = .stopped
        case "error": self.event = .failed(try container.decode(String.self, forKey: .message))
        default:
            throw DecodingError.dataCorruptedError(forKey: .op, in: container, debugDescription: "unknown op \"\(op)\"")
        }
    }

    /// Encodes the flat JSON form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.event.op, forKey: .op)
        try container.encode(self.id, forKey: .id)
        switch self.event {
        case .hello(let info): try container.encode(info, forKey: .agent)
        case .connected(let outcome), .reconnected(let outcome): try container.encode(outcome, forKey: .outcome)
        case .snapshot(let snapshot): try container.encode(snapshot, forKey: .snapshot)
        case .failed(let message): try container.encode(message, forKey: .message)
        case .reset, .dropped, .stopped: break
        }
    }
}
