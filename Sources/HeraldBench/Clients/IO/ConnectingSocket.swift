import NIOCore

#if os(Linux)
    import Glibc

    /// A non-blocking TCP socket whose connect is started here, for a ``BenchConnection``:
    /// `socket`, `setsockopt`, `bind` (with a source address) and `connect`, and nothing
    /// more.
    ///
    /// On Linux a write to a socket whose connect is still in progress fails with `EAGAIN`,
    /// so the connection keeps what it writes until the socket becomes writable, that is
    /// connected; a failed connect shows up as an error on the next read.
    enum ConnectingSocket {
        /// Opens a socket, binds it to `source` if given (port 0, chosen at connect) and starts
        /// connecting it to `address`. Returns the descriptor; the caller owns it.
        static func open(to address: SocketAddress, from source: SocketAddress?) throws(SystemCallError) -> CInt {
            let family: CInt
            switch address {
            case .v4: family = AF_INET
            case .v6: family = AF_INET6
            case .unixDomainSocket: throw SystemCallError(operation: "socket", errno: EAFNOSUPPORT)
            }
            let descriptor = Glibc.socket(
                family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { throw SystemCallError(operation: "socket", errno: errno) }
            do throws(SystemCallError) {
                var one: CInt = 1
                let size = socklen_t(MemoryLayout<CInt>.size)
                // Small frames (PINGs, ACKs) go out at once rather than wait for the previous
                // one's acknowledgement.
                guard setsockopt(descriptor, CInt(IPPROTO_TCP), TCP_NODELAY, &one, size) == 0 else {
                    throw SystemCallError(operation: "setsockopt TCP_NODELAY", errno: errno)
                }
                if let source {
                    // The local port is picked at connect, by the whole 4-tuple, so one source
                    // address serves more connections than it has free ports.
                    guard setsockopt(descriptor, CInt(IPPROTO_IP), IP_BIND_ADDRESS_NO_PORT, &one, size) == 0 else {
                        throw SystemCallError(operation: "setsockopt IP_BIND_ADDRESS_NO_PORT", errno: errno)
                    }
                    let bound = source.withSockAddr { pointer, length in
                        Glibc.bind(descriptor, pointer, socklen_t(length))
                    }
                    guard bound == 0 else { throw SystemCallError(operation: "bind", errno: errno) }
                }
                let connected = address.withSockAddr { pointer, length in
                    Glibc.connect(descriptor, pointer, socklen_t(length))
                }
                guard connected == 0 || errno == EINPROGRESS else {
                    throw SystemCallError(operation: "connect", errno: errno)
                }
                return descriptor
            } catch {
                Glibc.close(descriptor)
                throw error
            }
        }
    }
#endif
