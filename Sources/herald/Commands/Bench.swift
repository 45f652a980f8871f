import ArgumentParser
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
        let path = Self.siblingPath()
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

    /// `herald-bench` in the directory of this executable.
    private static func siblingPath() -> String? {
        #if canImport(Glibc)
            var buffer = [CChar](repeating: 0, count: 4096)
            let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            guard count > 0 else { return nil }
            let own = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let slash = own.lastIndex(of: "/") else { return nil }
            return String(own[..<slash]) + "/herald-bench"
        #else
            return nil
        #endif
    }
}
