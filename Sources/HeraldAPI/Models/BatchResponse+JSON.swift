import HTTPTypes
import HeraldWire
import NIOCore

extension BatchResponse: JSONWritable {
    func writeJSON(into buffer: inout ByteBuffer) {
        buffer.writeJSONObject { members, buffer in
            members.array("results", self.results, in: &buffer) { result, buffer in
                switch result {
                case .sent(let response):
                    response.writeJSON(into: &buffer)
                case .failed(let error):
                    buffer.writeJSONObject { members, buffer in
                        members.object("error", in: &buffer) { members, buffer in
                            members.string("code", error.code, in: &buffer)
                            members.string("message", error.message, in: &buffer)
                            members.number("status", error.status.code, in: &buffer)
                        }
                    }
                }
            }
        }
    }
}
