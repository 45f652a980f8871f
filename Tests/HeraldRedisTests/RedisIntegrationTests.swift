import Foundation
import HeraldRESP
import HeraldRedis
import HeraldRedisTestUtils
import NIOCore
import Testing

/// Against the real Redis that scripts/test starts; one at a time, since some stall or
/// restart the server.
@Suite("the Redis client against a real Redis", .serialized, .enabled(if: RedisTestEnvironment.isAvailable, RedisTestEnvironment.skipReason))
struct RedisIntegrationTests {
    @Test("SET, GET and DEL round-trip, by password and by ACL user")
    func setGetDel() async throws {
        for url in [try RedisTestServer.require("HERALD_TEST_REDIS_URL"), try RedisTestServer.require("HERALD_TEST_REDIS_ACL_URL")] {
            let client = try RedisClient(url: url)
            let key = RedisTestEnvironment.key("set")
            let payload = ByteBuffer(bytes: [0, 1, 2, 13, 10, 255])
            #expect(try await client.send(RESPCommand("SET", .string(key), .bytes(payload))).string == "OK")
            #expect(try await client.send(RESPCommand("GET", .string(key))).bytes == payload)
            #expect(try await client.send(RESPCommand("DEL", .string(key))).integer == 1)
            #expect(try await client.send(RESPCommand("GET", .string(key))).isNull)
            await client.close()
        }
    }

    @Test("a pipeline of 1,000 commands gets 1,000 replies, in order")
    func pipeline() async throws {
        let client = RedisClient(configuration: try RedisTestEnvironment.configuration())
        let key = RedisTestEnvironment.key("pipeline")
        let results = try await client.pipeline(Array(repeating: RESPCommand("INCR", .string(key)), count: 1_000))
        #expect(results.count == 1_000)
        #expect(results.map { try? $0.get().integer } == (1...1_000).map { Int64($0) })
        _ = try await client.send(RESPCommand("DEL", .string(key)))
        await client.close()
    }

    @Test("an error reply fails its command only, with Redis's message")
    func errorReply() async throws {
        let client = RedisClient(configuration: try RedisTestEnvironment.configuration(poolSize: 1))
        let key = RedisTestEnvironment.key("error")
        _ = try await client.send(RESPCommand("SET", .string(key), "not a number"))
        await #expect {
            try await client.send(RESPCommand("INCR", .string(key)))
        } throws: { error in
            guard let error = error as? RedisClientError else { return false }
            return error.code == .commandError && error.message?.contains("not an integer") == true
        }
        let results = try await client.pipeline([RESPCommand("PING"), RESPCommand("INCR", .string(key)), RESPCommand("PING")])
        #expect((try? results[0].get())?.string == "PONG")
        guard case .failure(let error) = results[1] else {
            Issue.record("the error reply in the pipeline did not fail its command")
            return
        }
        #expect(error.code == .commandError)
        #expect((try? results[2].get())?.string == "PONG")
        _ = try await client.send(RESPCommand("DEL", .string(key)))
        await client.close()
    }

    @Test("a wrong password is a clear authentication error")
    func wrongPassword() async throws {
        var configuration = try RedisTestEnvironment.configuration()
        configuration.password = "not-the-password"
        configuration.backoff.maximumAttempts = 1
        let client = RedisClient(configuration: configuration)
        await #expect {
            try await client.send(RESPCommand("PING"))
        } throws: { error in
            guard let error = error as? RedisClientError else { return false }
            return error.code == .authenticationFailed && error.description.hasPrefix("Redis refused the credentials: WRONGPASS")
        }
        await client.close()
    }

    @Test("messages published on one connection reach a subscriber on another")
    func pubSub() async throws {
        let configuration = try RedisTestEnvironment.configuration()
        let client = RedisClient(configuration: configuration)
        let subscriber = RedisSubscriber(configuration: configuration)
        let channel = RedisTestEnvironment.key("channel")
        let shard = RedisTestEnvironment.key("shard")
        let patternBase = RedisTestEnvironment.key("pattern")
        try await subscriber.subscribe([channel])
        try await subscriber.psubscribe([patternBase + ".*"])
        try await subscriber.ssubscribe([shard])
        #expect(try await client.send(RESPCommand("PUBLISH", .string(channel), "one")).integer == 1)
        #expect(try await client.send(RESPCommand("PUBLISH", .string(patternBase + ".x"), "two")).integer == 1)
        #expect(try await client.send(RESPCommand("SPUBLISH", .string(shard), "three")).integer == 1)
        let messages = try await withinSeconds(20) {
            var received: [RedisPubSubMessage] = []
            for await event in subscriber.events {
                if case .message(let message) = event { received.append(message) }
                if received.count == 3 { break }
            }
            return received
        }
        #expect(messages.map(\.kind) == [.channel, .pattern, .shardChannel])
        #expect(messages.map(\.channel) == [channel, patternBase + ".x", shard])
        #expect(messages[1].pattern == patternBase + ".*")
        #expect(messages.map { String(buffer: $0.payload) } == ["one", "two", "three"])

        try await subscriber.unsubscribe([channel])
        #expect(try await client.send(RESPCommand("PUBLISH", .string(channel), "unheard")).integer == 0)
        await subscriber.close()
        await client.close()
    }

    @Test("after a server restart the client reconnects and the subscriber resubscribes and says so")
    func restart() async throws {
        let configuration = try RedisTestEnvironment.configuration()
        let client = RedisClient(configuration: configuration)
        let subscriber = RedisSubscriber(configuration: configuration)
        let channel = RedisTestEnvironment.key("restart")
        try await subscriber.subscribe([channel])
        _ = try await client.send(RESPCommand("PUBLISH", .string(channel), "before"))
        try await RedisTestEnvironment.restartServer(using: client)

        let events = try await withinSeconds(30) {
            var seen: [RedisSubscriberEvent] = []
            for await event in subscriber.events {
                seen.append(event)
                if event == .reconnected { break }
            }
            return seen
        }
        #expect(events.first.map { if case .message = $0 { true } else { false } } == true)
        #expect(events.contains { if case .disconnected = $0 { true } else { false } })
        #expect(events.last == .reconnected)

        #expect(try await client.send(RESPCommand("PUBLISH", .string(channel), "after")).integer == 1)
        let after = try await withinSeconds(20) {
            for await event in subscriber.events {
                if case .message(let message) = event { return String(buffer: message.payload) }
            }
            return ""
        }
        #expect(after == "after")
        await subscriber.close()
        await client.close()
    }

    @Test("a connection killed by CLIENT KILL is replaced")
    func clientKill() async throws {
        let configuration = try RedisTestEnvironment.configuration(poolSize: 1)
        let client = RedisClient(configuration: configuration)
        let admin = RedisClient(configuration: configuration)
        let id = try #require(try await client.send(RESPCommand("CLIENT", "ID")).integer)
        #expect(try await admin.send(RESPCommand("CLIENT", "KILL", "ID", .integer(id))).integer == 1)
        // The kill may not have reached the client's side yet: a command sent meanwhile fails
        // as closed; the next one goes on a new connection.
        var newID: Int64?
        for _ in 0..<5 where newID == nil {
            do {
                newID = try await client.send(RESPCommand("CLIENT", "ID")).integer
            } catch let error as RedisClientError where error.code == .connectionClosed {
                continue
            }
        }
        #expect(newID != nil)
        #expect(newID != id)
        await admin.close()
        await client.close()
    }

    @Test("a server that stalls past the command timeout gives a timeout error")
    func timeout() async throws {
        let client = RedisClient(configuration: try RedisTestEnvironment.configuration(poolSize: 1, commandTimeout: .milliseconds(200)))
        await #expect {
            try await client.send(RESPCommand("DEBUG", "SLEEP", "1"))
        } throws: { error in
            (error as? RedisClientError)?.code == .timeout
        }
        // The timed-out connection was closed; a new one serves the next command.
        var configuration = try RedisTestEnvironment.configuration(poolSize: 1)
        configuration.commandTimeout = .seconds(10)
        let patient = RedisClient(configuration: configuration)
        #expect(try await patient.send(RESPCommand("PING")).string == "PONG")
        #expect(try await client.send(RESPCommand("PING")).string == "PONG")
        await patient.close()
        await client.close()
    }
}
