/// What a PUSH or an ACK is about.
public enum PushKind: UInt8, Sendable, Hashable, CaseIterable {
    case user = 0
    case broadcast = 1
    case topic = 2
}
