import NIOCore

extension AuthOK {
    /// Appends the body as JSON, as `JSONEncoder` would with sorted keys.
    public func writeJSON(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "{"))
        buffer.writeJSONKey("app")
        buffer.writeJSONString(self.app)
        buffer.writeInteger(UInt8(ascii: ","))
        buffer.writeJSONKey("device")
        buffer.writeJSONString(self.device)
        buffer.writeInteger(UInt8(ascii: ","))
        buffer.writeJSONKey("epoch")
        buffer.writeJSONString(self.epoch)
        buffer.writeInteger(UInt8(ascii: ","))
        buffer.writeJSONKey("heartbeat")
        buffer.writeJSONNumber(self.heartbeat)
        buffer.writeInteger(UInt8(ascii: ","))
        buffer.writeJSONKey("node")
        buffer.writeJSONString(self.node)
        buffer.writeInteger(UInt8(ascii: ","))
        buffer.writeJSONKey("recovered")
        buffer.writeInteger(UInt8(ascii: "{"))
        buffer.writeJSONKey("broadcast")
        buffer.writeJSONBool(self.recovered.broadcast)
        buffer.writeInteger(UInt8(ascii: ","))
        buffer.writeJSONKey("inbox")
        buffer.writeJSONBool(self.recovered.inbox)
        buffer.writeInteger(UInt8(ascii: "}"))
        buffer.writeInteger(UInt8(ascii: ","))
        buffer.writeJSONKey("session")
        buffer.writeJSONNumber(self.session)
        buffer.writeInteger(UInt8(ascii: ","))
        buffer.writeJSONKey("user")
        buffer.writeJSONString(self.user)
        buffer.writeInteger(UInt8(ascii: "}"))
    }
}
