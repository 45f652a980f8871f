import NIOCore

extension AuthOK {
    /// Appends the body as JSON, as `JSONEncoder` would with sorted keys.
    @discardableResult
    public func writeJSON(into buffer: inout ByteBuffer) -> Int {
        buffer.writeJSONObject { members, buffer in
            members.string("app", self.app, in: &buffer)
            members.string("device", self.device, in: &buffer)
            members.string("epoch", self.epoch, in: &buffer)
            members.number("heartbeat", self.heartbeat, in: &buffer)
            members.string("node", self.node, in: &buffer)
            members.object("recovered", in: &buffer) { recovered, buffer in
                recovered.bool("broadcast", self.recovered.broadcast, in: &buffer)
                recovered.bool("inbox", self.recovered.inbox, in: &buffer)
            }
            members.number("session", self.session, in: &buffer)
            members.string("user", self.user, in: &buffer)
        }
    }
}
