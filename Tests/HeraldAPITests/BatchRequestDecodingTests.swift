import Foundation
import HeraldTestUtils
import Testing

@testable import HeraldAPI

/// The plain batch reader against `JSONDecoder`: whatever it reads, the decoder reads the
/// same way; whatever the decoder refuses, it refuses too.
@Suite struct BatchRequestDecodingTests {
    static func summary(_ batch: BatchRequest) -> [String] {
        batch.messages.map { entry in
            switch entry.message {
            case .success(let message):
                return "\(String(describing: message.users)) \(String(describing: message.payload.payload)) "
                    + "\(String(describing: message.payload.payloadBase64)) \(String(describing: message.qos)) "
                    + "\(String(describing: message.ttl)) \(String(describing: message.collapseKey))"
            case .failure(let error):
                return "error \(error.code) \(error.message)"
            }
        }
    }

    static func plain(_ body: [UInt8]) -> BatchRequest? {
        body.withUnsafeBufferPointer { BatchRequest.plain($0) }
    }

    @Test func theBenchShapeAndPrettyPrintedBodiesAreRead() throws {
        let compact =
            #"{"messages":[{"users":["u1"],"payloadBase64":"AAE="},{"users":["a","b"],"payload":"hi","qos":1,"ttl":60,"collapseKey":"k"}]}"#
        let pretty = """
            {
              "messages" : [
                { "users" : [ "u1" ], "payload" : "x y", "qos" : 0 },
                {}
              ],
              "note": "ignored", "n": -3
            }
            """
        for body in [compact, pretty, #"{"messages":[]}"#] {
            let fast = try #require(Self.plain(Array(body.utf8)), "\(body)")
            let slow = try JSONDecoder().decode(BatchRequest.self, from: Data(body.utf8))
            #expect(Self.summary(fast) == Self.summary(slow))
        }
    }

    @Test func whatItDoesNotReadGoesToTheDecoder() {
        let bodies = [
            "", "[]", "{}", #"{"messages":null}"#, #"{"messages":[{"users":"a","payload":"x"}]}"#,
            #"{"messages":[{"payload":"a\"b"}]}"#, #"{"messages":[{"payload":"é"}]}"#,
            #"{"messages":[{"qos":1.0}]}"#, #"{"messages":[{"qos":1e0}]}"#, #"{"messages":[{"qos":01}]}"#,
            #"{"messages":[{"ttl":1234567890123456}]}"#, #"{"messages":[{"users":null}]}"#,
            #"{"messages":[{"payload":"a","payload":"b"}]}"#, #"{"messages":[],"messages":[]}"#,
            #"{"messages":[{"extra":{"a":1}}]}"#, #"{"messages":[{"extra":true}]}"#, #"{"messages":[]} x"#,
            #"{"messages":[{"payload":"x"},]}"#, #"{"messages":[{"payload":"x"}]"#, "\u{feff}{\"messages\":[]}",
        ]
        for body in bodies {
            #expect(Self.plain(Array(body.utf8)) == nil, "\(body)")
        }
    }

    /// Random bodies near the plain shape, mutated now and then.
    @Test(arguments: 0..<8)
    func randomBodiesReadLikeJSONDecoder(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed) &+ 500)
        var read = 0
        let cases = 400
        for _ in 0..<cases {
            var body = Array(Self.body(&random).utf8)
            if Int.random(in: 0..<6, using: &random) == 0, !body.isEmpty {
                let index = Int.random(in: 0..<body.count, using: &random)
                if Bool.random(using: &random) {
                    body.removeSubrange(index...)
                } else {
                    body[index] = Array(#"{}[]",: 0a\"#.utf8).randomElement(using: &random) ?? 0
                }
            }
            let slow = try? JSONDecoder().decode(BatchRequest.self, from: Data(body))
            guard let fast = Self.plain(body) else { continue }
            read += 1
            let text = String(decoding: body, as: UTF8.self)
            let decoded = try #require(slow, "the decoder refused what the plain reader read: \(text)")
            #expect(Self.summary(fast) == Self.summary(decoded), "\(text)")
        }
        #expect(read > cases / 20, "only \(read) of \(cases) bodies took the plain path")
    }

    /// The same for the body of one message (`POST .../messages`).
    @Test(arguments: 0..<4)
    func randomMessageBodiesReadLikeJSONDecoder(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed) &+ 900)
        var read = 0
        for _ in 0..<400 {
            let text = Self.space(&random) + Self.message(&random) + Self.space(&random)
            let body = Array(text.utf8)
            let slow = try? JSONDecoder().decode(MessageRequest.self, from: Data(body))
            guard let fast = body.withUnsafeBufferPointer({ MessageRequest.plain($0) }) else { continue }
            read += 1
            let decoded = try #require(slow, "the decoder refused what the plain reader read: \(text)")
            let batch = { (message: MessageRequest) in
                Self.summary(BatchRequest(messages: [.init(message: .success(message))]))
            }
            #expect(batch(fast) == batch(decoded), "\(text)")
        }
        #expect(read > 20, "only \(read) bodies took the plain path")
        #expect(Array(#"{"payload":"a"} {}"#.utf8).withUnsafeBufferPointer { MessageRequest.plain($0) } == nil)
    }

    static func space(_ random: inout SeededRandom) -> String {
        switch Int.random(in: 0..<8, using: &random) {
        case 0: " "
        case 1: "\n  "
        case 2: "\t"
        default: ""
        }
    }

    static func body(_ random: inout SeededRandom) -> String {
        var members = [#""messages":"# + Self.space(&random) + Self.messages(&random)]
        if Int.random(in: 0..<5, using: &random) == 0 { members.append(#""extra":"# + Self.value(&random)) }
        if Int.random(in: 0..<30, using: &random) == 0 { members.append(#""messages":[]"#) }
        members.shuffle(using: &random)
        let separator = "," + Self.space(&random)
        return Self.space(&random) + "{" + Self.space(&random) + members.joined(separator: separator)
            + Self.space(&random)
            + "}" + Self.space(&random)
    }

    static func messages(_ random: inout SeededRandom) -> String {
        let entries = (0..<Int.random(in: 0...5, using: &random)).map { _ in Self.message(&random) }
        return "[" + Self.space(&random) + entries.joined(separator: "," + Self.space(&random)) + "]"
    }

    static func message(_ random: inout SeededRandom) -> String {
        let keys = ["users", "payload", "payloadBase64", "qos", "ttl", "collapseKey", "other"]
        var members: [String] = []
        for key in keys where Int.random(in: 0..<3, using: &random) > 0 {
            members.append(
                "\"\(key)\"" + Self.space(&random) + ":" + Self.space(&random) + Self.value(for: key, &random))
        }
        if Int.random(in: 0..<25, using: &random) == 0, let again = keys.randomElement(using: &random) {
            members.append("\"\(again)\":" + Self.value(for: again, &random))
        }
        members.shuffle(using: &random)
        return "{" + Self.space(&random) + members.joined(separator: "," + Self.space(&random)) + Self.space(&random)
            + "}"
    }

    /// Mostly a value of the key's type, sometimes another.
    static func value(for key: String, _ random: inout SeededRandom) -> String {
        guard Int.random(in: 0..<6, using: &random) > 0 else { return Self.value(&random) }
        switch key {
        case "users":
            let users = (0..<Int.random(in: 0...3, using: &random)).map { _ in Self.string(&random) }
            return "[" + users.joined(separator: "," + Self.space(&random)) + "]"
        case "qos", "ttl": return Self.number(&random)
        default: return Self.string(&random)
        }
    }

    static func value(_ random: inout SeededRandom) -> String {
        switch Int.random(in: 0..<6, using: &random) {
        case 0: Self.number(&random)
        case 1: ["null", "true", "false"].randomElement(using: &random) ?? "null"
        case 2: #"{"a":[1,{"b":null}]}"#
        case 3: "[" + Self.string(&random) + "]"
        default: Self.string(&random)
        }
    }

    static func string(_ random: inout SeededRandom) -> String {
        switch Int.random(in: 0..<8, using: &random) {
        case 0: #""a\"b""#
        case 1: #""tab\tand\u00e9""#
        case 2: "\"é漢\""
        case 3: "\"\""
        default:
            "\""
                + String(
                    (0..<Int.random(in: 1...12, using: &random)).map { _ in
                        Character(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &random)))
                    }.filter { $0 != "\"" && $0 != "\\" }) + "\""
        }
    }

    static func number(_ random: inout SeededRandom) -> String {
        switch Int.random(in: 0..<10, using: &random) {
        case 0: "1.0"
        case 1: "1e2"
        case 2: "01"
        case 3: "-0"
        case 4: "1234567890123456789"
        case 5: "123456789012345"
        default: String(Int.random(in: -5...100_000, using: &random))
        }
    }
}
