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
            let string = random.jsonHostileText(maximumLength: 40)
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

    @Test func integersAreWrittenLikeJSONEncoder() throws {
        var random = SeededRandom(seed: 11)
        var signed: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, .max, .min, .max - 1, .min + 1]
        signed += (0..<500).map { _ in
            Int64.random(in: .min ... .max, using: &random) >> Int64.random(in: 0...62, using: &random)
        }
        for value in signed {
            var buffer = ByteBuffer()
            buffer.writeJSONInteger(value)
            #expect(Array(buffer.readableBytesView) == (try Self.encoded(value)), "\(value)")
        }
        let unsigned: [UInt64] = [0, 9, 10, UInt64(Int64.max), UInt64(Int64.max) + 1, .max, .max - 1]
        for value in unsigned {
            var buffer = ByteBuffer()
            buffer.writeJSONInteger(value)
            #expect(Array(buffer.readableBytesView) == (try Self.encoded(value)), "\(value)")
        }
        for value in [UInt16.max, 0, 7] {
            var buffer = ByteBuffer()
            buffer.writeJSONInteger(value)
            #expect(Array(buffer.readableBytesView) == (try Self.encoded(value)))
        }
        for value in [Int8.min, -1, Int8.max] {
            var buffer = ByteBuffer()
            buffer.writeJSONInteger(value)
            #expect(Array(buffer.readableBytesView) == (try Self.encoded(value)))
        }
    }

    @Test func arrays() throws {
        struct Body: Encodable {
            var counts: [Int64]
            var grid: [[UInt16]]
            var names: [String]
        }
        for count in [0, 1, 2, 5] {
            let body = Body(
                counts: (0..<count).map { Int64($0 * 1000 - 1) },
                grid: (0..<count).map { row in (0..<row).map { UInt16($0 * 7) } },
                names: (0..<count).map { Self.strings[$0 % Self.strings.count] }
            )
            var buffer = ByteBuffer()
            buffer.writeJSONObject { members, buffer in
                members.array("counts", body.counts, in: &buffer) { value, buffer in buffer.writeJSONInteger(value) }
                members.array("grid", body.grid, in: &buffer) { row, buffer in
                    buffer.writeJSONArray(row) { value, buffer in buffer.writeJSONInteger(value) }
                }
                members.array("names", body.names, in: &buffer) { name, buffer in buffer.writeJSONString(name) }
            }
            #expect(Array(buffer.readableBytesView) == (try Self.encoded(body)))
        }
    }
}
