import CFuzzDriver
import HeraldWire
import NIOCore

/// Reads the input as a client's byte stream: every frame that reads must decode as a message
/// or fail with a protocol error, and a message must encode back to a frame that decodes to it.
func fuzzFrames(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(start: data, count: count))
    let decoder = FrameDecoder()
    while let frame = try? decoder.next(from: &buffer) {
        guard let message = try? ClientMessage(frame) else { continue }
        var encoded = ByteBuffer()
        message.write(into: &encoded)
        guard let again = try? decoder.single(from: encoded), let decoded = try? ClientMessage(again) else {
            fatalError("\(message) encodes to a frame that does not decode.")
        }
        precondition(decoded == message, "\(message) decodes as \(decoded) once encoded.")
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzFrames(data, count)
}

@_cdecl("FuzzFrames_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzFrames($0, $1) }
}
