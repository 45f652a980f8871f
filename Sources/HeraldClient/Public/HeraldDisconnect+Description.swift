import HeraldWire

extension HeraldDisconnect: CustomStringConvertible {
    /// One sentence for logs and command-line output: why the connection ended and what the
    /// client does next, e.g. "the connection was lost; reconnecting in 1.5 s".
    public var description: String {
        let next = self.reconnectAfter.map { "reconnecting in \(Self.seconds($0))" } ?? "not reconnecting"
        return "\(self.reason); \(next)"
    }

    private static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        guard milliseconds >= 1000 else { return "\(milliseconds) ms" }
        let whole = milliseconds / 1000
        let tenths = (milliseconds % 1000) / 100
        return tenths == 0 ? "\(whole) s" : "\(whole).\(tenths) s"
    }
}

extension HeraldDisconnect.Reason: CustomStringConvertible {
    /// What happened, as a clause: "the server refused the token (auth_failed: bad signature)".
    public var description: String {
        switch self {
        case .closedByClient: "the client closed the connection"
        case .connectFailed(let why): "the connection could not be opened: \(why)"
        case .connectionLost: "the connection was lost"
        case .heartbeatTimeout: "nothing answered a PING within one heartbeat"
        case .authenticationTimeout: "no AUTH_OK arrived in time"
        case .authenticationFailed(let error): "the server refused the token (\(error.code): \(error.message))"
        case .serverError(let error): "the server closed the connection with an error (\(error.code): \(error.message))"
        case .goaway(let goaway): "the server sent GOAWAY \(goaway.reason)"
        case .protocolViolation(let why): "the server broke the protocol: \(why)"
        }
    }
}
