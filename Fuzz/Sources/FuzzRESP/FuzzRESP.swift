import FuzzDriver
import FuzzedRESP
import NIOCore

/// Reads the input as a Redis server's replies, whole and then a byte at a time: both must
/// read the same tokens and stop alike, within the decoder's limits.
func fuzzRESP(_ input: ByteBuffer) {
    let all = tokens(feeding: [input])
    var pieces: [ByteBuffer] = []
    var rest = input
    while let byte = rest.readSlice(length: 1) { pieces.append(byte) }
    precondition(tokens(feeding: pieces) == all, "a reply reads differently when it arrives a byte at a time.")
}

/// The tokens read from `chunks`, and whether the decoder failed.
func tokens(feeding chunks: [ByteBuffer]) -> [String] {
    var decoder = RESPTokenDecoder()
    var pending = ByteBuffer()
    var read: [String] = []
    for var chunk in chunks {
        pending.writeBuffer(&chunk)
        do {
            while let token = try decoder.decode(buffer: &pending) {
                read.append(String(buffer: token.base))
            }
        } catch let error as RESPParsingError {
            read.append("failed: \(error.code)")
            return read
        } catch {
            read.append("failed: \(error)")
            return read
        }
    }
    return read
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt { FuzzDriver.test(data, count, fuzzRESP) }

@_cdecl("FuzzRESP_main")
func fuzzMain(_ argc: CInt, _ argv: FuzzDriver.Arguments) -> CInt { FuzzDriver.main(argc, argv, testOneInput) }
