import HeraldWire

/// Why a raw client call failed.
public enum RawClientError: Error, Hashable, CustomStringConvertible {
    /// Nothing arrived in time.
    case timedOut(waitingFor: String)
    /// The server closed the connection while a message was expected.
    case connectionClosed
    /// The server answered a request with ERROR.
    case serverError(seq: UInt32, ErrorBody)
    /// Something other than what was expected arrived.
    case unexpected(String)
    /// The server sent bytes that are not a valid frame.
    case malformedServerFrame(ProtocolError)
    /// The WebSocket upgrade was refused.
    case webSocketUpgradeRefused

    public var description: String {
        switch self {
        case .timedOut(let what): "timed out waiting for \(what)"
        case .connectionClosed: "the server closed the connection"
        case .serverError(let seq, let body): "server answered ERROR seq \(seq) \(body.code): \(body.message)"
        case .unexpected(let what): "unexpected: \(what)"
        case .malformedServerFrame(let error): "server sent a malformed frame: \(error)"
        case .webSocketUpgradeRefused: "the server refused the WebSocket upgrade"
        }
    }
}
