import NIOCore
import Testing

@testable import HeraldWire

/// The direct read of a plain AUTH body agrees with JSONDecoder on every body.
@Suite struct AuthRequestDecodingTests {
    static let bodies = [
        #"{"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"}"#,
        #"{"token":""}"#,
        #"{"token":"a b ~ !"}"#,
        #"{"token":"a\"b"}"#,
        #"{"token":"a\\b"}"#,
        #"{"token":"a\u0041"}"#,
        #"{"token":"é"}"#,
        "{\"token\":\"tab\there\"}",
        #"{"token":"a"}"}"#,
        #"{"token":"a"} "#,
        #" {"token":"a"}"#,
        #"{ "token" : "a" }"#,
        #"{"token":"a","resume":{"inbox":3}}"#,
        #"{"resume":null,"token":"a"}"#,
        #"{"token":"a","extra":[1,{"x":"}"}]}"#,
        #"{"token":"a","token":"b"}"#,
        #"{"token":"a""#,
        #"{"token":"#,
        #"{"token":1}"#,
        #"{"Token":"a"}"#,
        #"["token","a"]"#,
        "",
    ]

    @Test func agreesWithJSONDecoder() {
        for text in Self.bodies {
            let body = ByteBuffer(string: text)
            let direct = Result { () throws(ProtocolError) in try AuthRequest.decode(from: body) }
            let decoder = Result { () throws(ProtocolError) in
                try WireJSON.decode(AuthRequest.self, from: body, op: .auth)
            }
            switch (direct, decoder) {
            case (.success(let a), .success(let b)):
                #expect(a == b, "\(text)")
            case (.failure(let a), .failure(let b)):
                #expect(a.code == b.code, "\(text)")
            default:
                Issue.record("disagree on \(text): \(direct) vs \(decoder)")
            }
        }
    }
}
