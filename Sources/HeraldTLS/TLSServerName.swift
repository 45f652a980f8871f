#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The server name a client sends (SNI) and checks the certificate against.
public enum TLSServerName {
    /// `host` when it is a DNS name; nil when it is an IP address, which is checked against
    /// the certificate's IP addresses instead and may not be sent as a server name.
    public static func forHost(_ host: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        let isAddress = host.withCString { inet_pton(AF_INET, $0, &v4) == 1 || inet_pton(AF_INET6, $0, &v6) == 1 }
        return isAddress ? nil : host
    }
}
