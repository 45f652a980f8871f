import NIOCore

extension AuthRequest {
    /// Appends the body as JSON, as `JSONEncoder` would with sorted keys (absent optionals
    /// are left out).
    public func writeJSON(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "{"))
        if let resume = self.resume {
            buffer.writeJSONKey("resume")
            buffer.writeInteger(UInt8(ascii: "{"))
            var first = true
            func separator() {
                if !first { buffer.writeInteger(UInt8(ascii: ",")) }
                first = false
            }
            if let broadcast = resume.broadcast {
                separator()
                buffer.writeJSONKey("broadcast")
                buffer.writeJSONNumber(broadcast)
            }
            if let epoch = resume.epoch {
                separator()
                buffer.writeJSONKey("epoch")
                buffer.writeJSONString(epoch)
            }
            if let inbox = resume.inbox {
                separator()
                buffer.writeJSONKey("inbox")
                buffer.writeJSONNumber(inbox)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
            buffer.writeInteger(UInt8(ascii: ","))
        }
        buffer.writeJSONKey("token")
        buffer.writeJSONString(self.token)
        buffer.writeInteger(UInt8(ascii: "}"))
    }
}
