#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system calls of the bench's connections and loops, under names that their own
/// `close` and `read` methods do not hide, for Glibc and Darwin alike.
enum SystemCalls {
    static func close(_ descriptor: CInt) {
        #if canImport(Glibc)
            _ = Glibc.close(descriptor)
        #elseif canImport(Darwin)
            _ = Darwin.close(descriptor)
        #endif
    }

    static func read(_ descriptor: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
            Glibc.read(descriptor, buffer, count)
        #elseif canImport(Darwin)
            Darwin.read(descriptor, buffer, count)
        #endif
    }

    /// `send` without SIGPIPE for a peer that has gone (Linux; Darwin sockets would need
    /// `SO_NOSIGPIPE`, and the bench's clients run on Linux only).
    static func send(_ descriptor: CInt, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
            Glibc.send(descriptor, buffer, count, CInt(MSG_NOSIGNAL))
        #elseif canImport(Darwin)
            Darwin.send(descriptor, buffer, count, 0)
        #endif
    }
}
