import HeraldWire
import NIOCore

extension MessageResponse: JSONWritable {
    func writeJSON(into buffer: inout ByteBuffer) {
        buffer.writeJSONObject { members, buffer in
            members.array("messages", self.messages, in: &buffer) { entry, buffer in
                buffer.writeJSONObject { members, buffer in
                    members.number("seq", entry.seq, in: &buffer)
                    members.string("user", entry.user, in: &buffer)
                }
            }
            members.number("sessions", self.sessions, in: &buffer)
        }
    }
}
