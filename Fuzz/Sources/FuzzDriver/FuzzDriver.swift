import CFuzzDriver
import NIOCore

/// What every fuzz target shares: libFuzzer's two entries hand over here, so a target is its
/// check on one input plus two one-line `@_cdecl` functions (their names are fixed by libFuzzer
/// and by SwiftPM, so each target must define them itself):
///
/// ```swift
/// @_cdecl("LLVMFuzzerTestOneInput")
/// func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt { FuzzDriver.test(data, count, check) }
///
/// @_cdecl("<Module>_main")
/// func fuzzMain(_ argc: CInt, _ argv: FuzzDriver.Arguments) -> CInt { FuzzDriver.main(argc, argv, testOneInput) }
/// ```
public enum FuzzDriver {
    /// `argv` as the C `main` receives it.
    public typealias Arguments = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?

    /// Runs `check` on one input, as a buffer of its bytes. A check reports a failure by
    /// stopping the process (`precondition`, `fatalError`), which libFuzzer records with the input.
    public static func test(_ data: UnsafePointer<UInt8>?, _ count: Int, _ check: (ByteBuffer) -> Void) -> CInt {
        check(ByteBuffer(bytes: UnsafeRawBufferPointer(start: data, count: count)))
        return 0
    }

    /// Hands the program over to libFuzzer, which calls `testOneInput` for every input it tries.
    public static func main(
        _ argc: CInt,
        _ argv: Arguments,
        _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt {
        var argc = argc
        var argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv, testOneInput)
    }
}
