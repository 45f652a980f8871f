import HeraldRedis
import NIOCore
import Testing

@Suite("Redis URLs and the reconnection backoff")
struct RedisConfigurationTests {
    @Test("URLs give host, port, credentials and database")
    func urls() throws {
        let full = try RedisConfiguration(url: "redis://herald:s%40cret@cache.local:6380/3")
        #expect(full.host == "cache.local")
        #expect(full.port == 6380)
        #expect(full.username == "herald")
        #expect(full.password == "s@cret")
        #expect(full.database == 3)

        let passwordOnly = try RedisConfiguration(url: "redis://:secret@127.0.0.1:7000")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "secret")
        #expect(passwordOnly.database == 0)

        let bare = try RedisConfiguration(url: "redis://localhost")
        #expect(bare.port == 6379)
        #expect(bare.password == nil)
        #expect(bare.tls == nil)
    }

    @Test("rediss:// is TLS, with the system's authorities or the cacert given")
    func tlsURLs() throws {
        let system = try RedisConfiguration(url: "rediss://cache.local")
        #expect(system.tls == RedisTLS())
        #expect(system.port == 6379)

        let own = try RedisConfiguration(url: "rediss://:p%3Fss?w@cache.local:6380/2?cacert=/etc/herald/redis%20ca.pem")
        #expect(own.tls == RedisTLS(caFile: "/etc/herald/redis ca.pem"))
        #expect(own.password == "p?ss?w")
        #expect(own.host == "cache.local")
        #expect(own.port == 6380)
        #expect(own.database == 2)
    }

    @Test("a CA file that cannot be read is refused before anything connects")
    func unreadableCAFile() {
        #expect(throws: RedisClientError.self) { try RedisTLS(caFile: "/nonexistent/ca.pem").makeContext() }
        do {
            _ = try RedisTLS(caFile: "/nonexistent/ca.pem").makeContext()
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.description.contains("cannot read the CA certificates in /nonexistent/ca.pem"))
        }
        #expect(throws: Never.self) { try RedisTLS().makeContext() }
    }

    @Test("bad URLs are refused with a sentence that hides the password")
    func badURLs() {
        for url in [
            "http://localhost", "redis://:secret@host:99999", "redis://host/db", "redis://",
            "redis://:secret@host?cacert=/ca.pem", "rediss://:secret@host?verify=no", "rediss://:secret@host?cacert=",
            "rediss+cluster://:secret@host:7000",
        ] {
            do {
                _ = try RedisConfiguration(url: url)
                Issue.record("\(url) was accepted")
            } catch {
                #expect(error.code == .invalidConfiguration)
                #expect(!error.description.contains("secret"))
                #expect(error.description.hasPrefix("The Redis configuration is invalid: the URL "))
            }
        }
    }

    @Test("the backoff doubles up to its maximum, with jitter below it")
    func backoff() {
        let backoff = RedisBackoff(initial: .milliseconds(100), maximum: .seconds(1))
        for attempt in 0..<10 {
            let ceiling = min(100_000_000 << attempt, 1_000_000_000)
            let delay = backoff.delay(afterAttempt: attempt).nanoseconds
            #expect(delay >= Int64(ceiling / 2) && delay <= Int64(ceiling))
        }
        #expect(backoff.delay(afterAttempt: 1_000).nanoseconds <= 1_000_000_000)
    }
}
