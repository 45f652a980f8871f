import FuzzDriver
import HeraldWire
import NIOCore

/// Reads the input as the JSON body of an AUTH (the plain-JSON scanner's fast path and the
/// full decoder behind it): it decodes or fails with a protocol error, and what decodes must
/// encode back to the same request.
func fuzzAuthRequest(_ body: ByteBuffer) {
    let frame = Frame(op: .auth, flags: [], seq: 1, body: body)
    guard let message = try? ClientMessage(frame) else { return }
    var encoded = ByteBuffer()
    message.write(into: &encoded)
    guard let again = try? FrameDecoder().single(from: encoded), let decoded = try? ClientMessage(again) else {
        fatalError("\(message) encodes to a frame that does not decode.")
    }
    precondition(decoded == message, "\(message) decodes as \(decoded) once encoded.")
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt { FuzzDriver.test(data, count, fuzzAuthRequest) }

@_cdecl("FuzzAuthRequest_main")
func fuzzMain(_ argc: CInt, _ argv: FuzzDriver.Arguments) -> CInt { FuzzDriver.main(argc, argv, testOneInput) }
