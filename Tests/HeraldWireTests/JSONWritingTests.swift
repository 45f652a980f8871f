import Foundation
import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

/// The hand-written AUTH and AUTH_OK bodies are byte for byte what JSONEncoder writes.
@Suite struct JSONWritingTests {
    static let strings = [
        "", "demo", "alice", "a \"quoted\" \\ back/slash", "tab\tnew\nline\rcr\u{8}\u{c}", "\u{0}\u{1}\u{1f}\u{7f}",
        "é 漢字 😀", String(repeating: "x", count: 300),
    ]

    static func encoded(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    @Test func stringsAreEscapedLikeJSONEncoder() throws {
        for string in Self.strings {
            var buffer = ByteBuffer()
            buffer.writeJSONString(string)
            #expect(Array(buffer.readableBytesView) == (try Self.encoded(string)), "\(string.debugDescription)")
            #expect(try JSONDecoder().decode(String.self, from: Data(buffer.readableBytesView)) == string)
        }
    }

    /// Random strings from every plane, control characters and quotes included.
    @Test(arguments: 0..<20)
    func randomStringsAreEscapedLikeJSONEncoder(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed))
        for _ in 0..<50 {
            let scalars = (0..<Int.random(in: 0...40, using: &random)).compactMap { _ -> Unicode.Scalar? in
                switch Int.random(in: 0..<4, using: &random) {
                case 0: Unicode.Scalar(UInt8.random(in: 0...0x7F, using: &random))
                case 1: Unicode.Scalar(UInt32.random(in: 0x80...0xD7FF, using: &random))
                case 2: Unicode.Scalar(UInt32.random(in: 0xE000...0x10FFFF, using: &random))
                default: ["\"", "\\", "/", "\n", "\u{0}", "\u{1f}"].randomElement(using: &random)?.unicodeScalars.first
                }
            }
            let string = String(String.UnicodeScalarView(scalars))
            var buffer = ByteBuffer()
            buffer.writeJSONString(string)
            #expect(Array(buffer.readableBytesView) == (try Self.encoded(string)), "\(string.debugDescription)")
        }
    }

    @Test func authOKBodies() throws {
        for (index, string) in Self.strings.enumerated() {
            let body = AuthOK(
                session: UInt16(index * 9000),
                app: string,
                user: "u\(string)",
                device: string + "d",
                heartbeat: index * 1000 - 1,
                node: string,
                epoch: "e\(index)",
                recovered: AuthOK.Recovered(inbox: index % 2 == 0, broadcast: index % 3 == 0)
            )
            var buffer = ByteBuffer()
            body.writeJSON(into: &buffer)
            #expect(Array(buffer.readableBytesView) == (try Self.encoded(body)))
            // And the whole frame decodes back.
            var frame = ByteBuffer()
            ServerMessage.authOK(seq: 7, body).write(into: &frame)
            #expect(try ServerMessage(#require(try FrameDecoder().next(from: &frame))) == .authOK(seq: 7, body))
        }
    }

    @Test func authRequestBodies() throws {
        let resumes: [AuthRequest.Resume?] = [
            nil, .init(), .init(epoch: "e1"), .init(inbox: 4), .init(broadcast: .max),
            .init(epoch: "a\"b", inbox: 0, broadcast: 9),
        ]
        for resume in resumes {
            for token in Self.strings {
                let body = AuthRequest(token: token, resume: resume)
                var buffer = ByteBuffer()
                body.writeJSON(into: &buffer)
                #expect(Array(buffer.readableBytesView) == (try Self.encoded(body)))
                var frame = ByteBuffer()
                ClientMessage.auth(seq: 3, body).write(into: &frame)
                #expect(try ClientMessage(#require(try FrameDecoder().next(from: &frame))) == .auth(seq: 3, body))
            }
        }
    }
}
