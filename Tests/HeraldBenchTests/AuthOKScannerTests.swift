import HeraldWire
import NIOCore
import Testing

@testable import HeraldBench

@Suite struct AuthOKScannerTests {
    @Test func readsWhatTheServerWrites() throws {
        let ok = AuthOK(
            session: 3, app: "app-\"session\":9", user: "u{1}", device: "default", heartbeat: 25, node: "n1",
            epoch: "e\\\"x", recovered: .init(inbox: true, broadcast: false)
        )
        let body = WireJSON.body(ok)
        let scanned = try #require(AuthOKScanner.scan(body))
        #expect(scanned.session == 3)
        #expect(scanned.heartbeat == 25)
    }

    @Test func toleratesSpacingOrderAndUnknownFields() throws {
        let json =
            #" { "recovered" : {"inbox":true,"more":[1,2,{"a":null}]}, "heartbeat" : 7 ,"x":-1.5e3, "session":65535 } "#
        let scanned = try #require(AuthOKScanner.scan(ByteBuffer(string: json)))
        #expect(scanned.session == 65_535)
        #expect(scanned.heartbeat == 7)
    }

    @Test func givesUpOnAnythingElse() {
        for json in [
            "", "{}", "[]", #"{"session":1}"#, #"{"session":70000,"heartbeat":1}"#, #"{"session":"1","heartbeat":1}"#,
            #"{"session":1,"heartbeat":1"#, #"{"session":1 "heartbeat":1}"#,
            #"{"session":1,"heartbeat":1,"x":"unterminated}"#,
        ] {
            #expect(AuthOKScanner.scan(ByteBuffer(string: json)) == nil, "\(json)")
        }
    }
}
