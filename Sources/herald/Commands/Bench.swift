import ArgumentParser
import Foundation
import HeraldCommandLine

#if canImport(Glibc)
    import Glibc
#endif

/// `herald bench`: the stress tool is the `herald-bench` program, so that the server binary
/// carries none of it. This runs the `herald-bench` beside this binary with the same
/// arguments, or says where to find it.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run herald-bench, the stress tool (built beside herald: swift build -c release --product herald-bench)."
    )

    @Argument(parsing: .captureForPassthrough, help: "The arguments for herald-bench.")
    var arguments: [String] = []

    func run() throws {
        let path = OwnExecutable.sibling(named: "herald-bench")?.path
        #if canImport(Glibc)
            if let path, access(path, X_OK) == 0 {
                let argv = ([path] + self.arguments).map { strdup($0) } + [nil]
                execv(path, argv)
                let reason = String(cString: strerror(errno))
                throw CLIError("cannot run \(path): \(reason)")
            }
        #endif
        throw CLIError(
            "the stress tool is its own program now, herald-bench, and there is none beside this binary"
                + (path.map { " (\($0))" } ?? "")
                + ": build it with `swift build -c release --product herald-bench` and run "
                + "`.build/release/herald-bench \(self.arguments.joined(separator: " "))`")
    }
}
