/// The operation carried by a frame (docs/protocol.md, "Frames").
public enum Opcode: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case auth = 1
    case authOK = 2
    case error = 3
    case ping = 4
    case pong = 5
    case push = 6
    case ack = 7
    case upstream = 8
    case upstreamOK = 9
    case subscribe = 10
    case unsubscribe = 11
    case ok = 12
    case goaway = 13

    /// Whether clients send this op (as opposed to the server).
    public var isClientOp: Bool {
        switch self {
        case .auth, .ping, .ack, .upstream, .subscribe, .unsubscribe: true
        case .authOK, .error, .pong, .push, .upstreamOK, .ok, .goaway: false
        }
    }

    public var description: String {
        switch self {
        case .auth: "AUTH"
        case .authOK: "AUTH_OK"
        case .error: "ERROR"
        case .ping: "PING"
        case .pong: "PONG"
        case .push: "PUSH"
        case .ack: "ACK"
        case .upstream: "UPSTREAM"
        case .upstreamOK: "UPSTREAM_OK"
        case .subscribe: "SUBSCRIBE"
        case .unsubscribe: "UNSUBSCRIBE"
        case .ok: "OK"
        case .goaway: "GOAWAY"
        }
    }
}
