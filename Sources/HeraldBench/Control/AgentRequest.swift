/// One line from controller to agent: `{"op": "start", "id": 1, "target": {...}, "plan": {...}}`,
/// `{"op": "snapshot", "id": 2}`, `{"op": "reconnect", "id": 3, "rate": 5000}`, ...
///
/// The agent echoes `id` in its answer, so several requests can be in flight at once (a
/// snapshot for the progress line while a start is still connecting).
public struct AgentRequest: Sendable, Codable {
    /// Chosen by the controller; echoed in the answer.
    public var id: Int
    /// What to do.
    public var command: AgentCommand

    /// Creates a request.
    public init(id: Int, command: AgentCommand) {
        self.id = id
        self.command = command
    }

    private enum CodingKeys: String, CodingKey {
        case op, id, target, plan, rate
    }

    /// Decodes the flat JSON form; an unknown `op` is a decoding error.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(Int.self, forKey: .id)
        let op = try container.decode(String.self, forKey: .op)
        switch op {
        case "start":
            self.command = .start(
                target: try container.decode(BenchTarget.self, forKey: .target),
                plan: try container.decode(ClientPlan.self, forKey: .plan)
            )
        case "snapshot": self.command = .snapshot
        case "reset": self.command = .reset
        case "drop": self.command = .drop
        case "reconnect":
            let rate = try container.decode(Double.self, forKey: .rate)
            guard rate.isFinite, rate >= 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .rate,
                    in: container,
                    debugDescription: "rate must be a number of at least 0"
                )
            }
            self.command = .reconnect(rate: rate)
        case "stop": self.command = .stop
        default:
            throw DecodingError.dataCorruptedError(forKey: .op, in: container, debugDescription: "unknown op \"\(op)\"")
        }
    }

    /// Encodes the flat JSON form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.command.op, forKey: .op)
        try container.encode(self.id, forKey: .id)
        switch self.command {
        case .start(let target, let plan):
            try container.encode(target, forKey: .target)
            try container.encode(plan, forKey: .plan)
        case .reconnect(let rate):
            try container.encode(rate, forKey: .rate)
        case .snapshot, .reset, .drop, .stop:
            break
        }
    }
}
