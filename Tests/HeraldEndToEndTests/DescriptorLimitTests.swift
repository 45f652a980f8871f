import HeraldTestUtils
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `--max-connections` and the open-file limit the server inherits from this process.
@Suite("Descriptor limit", .timeLimit(.minutes(1)))
struct DescriptorLimitTests {
    /// This process's soft open-file limit, which the server inherits; nil when unlimited.
    static var openFileLimit: Int? {
        var limit = rlimit()
        #if canImport(Glibc)
            let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
            let resource = RLIMIT_NOFILE
        #endif
        // RLIM_INFINITY is the largest value.
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < rlim_t(Int.max) else { return nil }
        return Int(limit.rlim_cur)
    }

    @Test("by default the connection cap is what the open-file limit leaves")
    func defaultFollowsTheLimit() async throws {
        let limit = try #require(Self.openFileLimit, "this process has no open-file limit")
        let server = try await HeraldProcess.start()
        let expected = min(max(limit - 256, 1), 1_000_000)
        #expect(server.standardError.contains("Client connections are capped at \(expected); the open-file limit is \(limit)."))
        _ = try await server.terminate()
    }

    @Test("a cap above what the open-file limit allows is logged as a sentence")
    func shortfallIsLogged() async throws {
        let limit = try #require(Self.openFileLimit, "this process has no open-file limit")
        let server = try await HeraldProcess.start(["--max-connections", "\(limit + 10_000)"])
        let log = server.standardError
        #expect(log.contains("The open-file limit (ulimit -n) is \(limit), which leaves room for about"))
        #expect(log.contains("but --max-connections allows \(limit + 10_000)"))
        _ = try await server.terminate()
    }
}
