import FuzzDriver
import HeraldWire
import NIOCore

/// Reads the input as a client's byte stream: every frame that reads must decode as a message
/// or fail with a protocol error, and a message must encode back to a frame that decodes to it.
func fuzzFrames(_ input: ByteBuffer) {
    var buffer = input
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
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt { FuzzDriver.test(data, count, fuzzFrames) }

@_cdecl("FuzzFrames_main")
func fuzzMain(_ argc: CInt, _ argv: FuzzDriver.Arguments) -> CInt { FuzzDriver.main(argc, argv, testOneInput) }
