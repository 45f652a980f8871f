/// The 16 flag bits of a frame header. Only bit 0 is defined; every other bit must be 0.
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// `ACK_REQUIRED`: the PUSH must be acknowledged (QoS 1). Only valid on PUSH.
    public static let ackRequired = FrameFlags(rawValue: 1 << 0)

    /// Every bit the protocol defines.
    public static let defined: FrameFlags = [.ackRequired]
}
