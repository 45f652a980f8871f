#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A system call of the bench clients' sockets or loops failed.
struct SystemCallError: Error, CustomStringConvertible {
    var operation: String
    var errno: CInt

    var description: String { "\(self.operation): \(String(cString: strerror(self.errno)))" }
}
