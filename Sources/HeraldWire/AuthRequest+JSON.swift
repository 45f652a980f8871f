import NIOCore

extension AuthRequest {
    /// Appends the body as JSON, as `JSONEncoder` would with sorted keys (absent optionals
    /// are left out).
    @discardableResult
    public func writeJSON(into buffer: inout ByteBuffer) -> Int {
        buffer.writeJSONObject { members, buffer in
            if let resume = self.resume {
                members.object("resume", in: &buffer) { fields, buffer in
                    if let broadcast = resume.broadcast { fields.number("broadcast", broadcast, in: &buffer) }
                    if let epoch = resume.epoch { fields.string("epoch", epoch, in: &buffer) }
                    if let inbox = resume.inbox { fields.number("inbox", inbox, in: &buffer) }
                }
            }
            members.string("token", self.token, in: &buffer)
        }
    }
}
