/// A message for the bus with its target: one element of ``MessageBus/publish(_:)``.
public struct BusPublication: Sendable {
    /// What is sent.
    public var message: BusMessage
    /// Where it goes.
    public var target: BusTarget

    /// A publication of `message` to `target`.
    public init(_ message: BusMessage, to target: BusTarget) {
        self.message = message
        self.target = target
    }
}
