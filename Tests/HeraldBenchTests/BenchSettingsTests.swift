import Foundation
import HeraldBench
import Testing

@Suite("Settings: plans, defaults, source addresses, /proc parsing")
struct BenchSettingsTests {
    @Test func workersDefaultToOnePer19000Connections() {
        #expect(BenchSettings(scenario: .connect, connections: 300).workers == 1)
        #expect(BenchSettings(scenario: .connect, connections: 19_000).workers == 1)
        #expect(BenchSettings(scenario: .connect, connections: 19_001).workers == 2)
        #expect(BenchSettings(scenario: .connect, connections: 57_001).workers == 4)
        #expect(BenchSettings(scenario: .connect, connections: 19_000, agents: ["h:1"]).workers == 0)
        #expect(BenchSettings(scenario: .connect, connections: 19_000, workers: 3, agents: ["h:1"]).workers == 3)
        #expect(BenchSettings(scenario: .unicast).httpConnections == 8)
        #expect(BenchSettings(scenario: .broadcast).httpConnections == 32)
        #expect(BenchSettings(scenario: .storm).httpConnections == 1)
        #expect(BenchSettings(scenario: .broadcast).pipeline == 1)
        #expect(BenchSettings(scenario: .broadcast, httpConnections: 1, pipeline: 48).pipeline == 48)
    }

    @Test func plansSplitConnectionsUsersRateAndAddresses() {
        let settings = BenchSettings(
            scenario: .topic,
            connections: 10,
            workers: 3,
            transport: .webSocket,
            sourceAddresses: ["127.0.0.2", "127.0.0.3"],
            heartbeatSeconds: 20,
            userPrefix: "b"
        )
        let plans = settings.plans(agents: 3, connectRate: 1_000, topics: ["bench"], acknowledge: false)
        #expect(plans.map(\.connections) == [4, 3, 3])
        #expect(plans.map(\.firstUser) == [0, 4, 7])
        #expect(plans.map(\.connectRate) == [400, 300, 300])
        #expect(
            plans.map(\.sourceAddresses) == [
                ["127.0.0.2", "127.0.0.3"], ["127.0.0.3", "127.0.0.2"], ["127.0.0.2", "127.0.0.3"],
            ])
        #expect(plans.allSatisfy { $0.transport == .webSocket && $0.topics == ["bench"] && !$0.acknowledge })
        #expect(plans.allSatisfy { $0.userPrefix == "b" && $0.heartbeatSeconds == 20 })
        #expect(plans[1].user(at: 0) == "b4")

        let unpaced = settings.plans(agents: 2, connectRate: 0, topics: [], acknowledge: true)
        #expect(unpaced.map(\.connectRate) == [0, 0])
        #expect(unpaced.map(\.connections) == [5, 5])
        let sparse = BenchSettings(scenario: .connect, connections: 1).plans(
            agents: 2, connectRate: 0, topics: [], acknowledge: true)
        #expect(sparse.map(\.connections) == [1, 0])
    }

    @Test func badSettingsAreNamed() {
        #expect(BenchSettings(scenario: .connect).problem == nil)
        #expect(BenchSettings(scenario: .connect, connections: 0).problem?.contains("--connections") == true)
        #expect(BenchSettings(scenario: .connect, workers: 0).problem?.contains("--workers or --agents") == true)
        #expect(BenchSettings(scenario: .connect, rate: -1).problem?.contains("--rate") == true)
        #expect(BenchSettings(scenario: .unicast, batch: 1001).problem?.contains("--batch") == true)
        #expect(BenchSettings(scenario: .unicast, payloadSize: 4).problem?.contains("--payload-size") == true)
        #expect(BenchSettings(scenario: .topic, topic: "a*").problem?.contains("--topic") == true)
        #expect(BenchSettings(scenario: .topic, userPrefix: "a\"b").problem?.contains("--user-prefix") == true)
        #expect(BenchSettings(scenario: .idle, duration: 0).problem?.contains("--duration") == true)
        #expect(BenchSettings(scenario: .broadcast, pipeline: 0).problem == "--pipeline must be 1 to 1024")
        #expect(BenchSettings(scenario: .broadcast, pipeline: 1025).problem == "--pipeline must be 1 to 1024")
        #expect(BenchSettings(scenario: .broadcast, pipeline: 1024).problem == nil)
        #expect(BenchSettings(scenario: .broadcast, httpConnections: 0).problem?.contains("--http-connections") == true)
    }

    @Test func sourceAddressesTakeRangesAndLists() throws {
        #expect(
            try SourceAddresses.parse("127.0.0.2-127.0.0.5") == ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"])
        #expect(
            try SourceAddresses.parse("127.0.0.9, 10.0.0.255-10.0.1.1") == [
                "127.0.0.9", "10.0.0.255", "10.0.1.0", "10.0.1.1",
            ])
        #expect(try SourceAddresses.parse("::1") == ["::1"])
        #expect(try SourceAddresses.parse("") == [])
        #expect(throws: BenchError.self) { try SourceAddresses.parse("127.0.0.9-127.0.0.2") }
        #expect(throws: BenchError.self) { try SourceAddresses.parse("127.0.0.1-127.0.0.300") }
        #expect(throws: BenchError.self) { try SourceAddresses.parse("10.0.0.0-10.1.0.0") }
        #expect(throws: BenchError.self) { try SourceAddresses.parse("a-b") }
    }

    @Test func procFilesAreRead() {
        let status = "Name:\therald\nVmPeak:\t  300000 kB\nVmRSS:\t   51200 kB\nThreads:\t5\n"
        #expect(ProcessStats.residentBytes(status: status) == 51_200 * 1024)
        #expect(ProcessStats.residentBytes(status: "Name: x\n") == nil)
        // utime 250 and stime 50 ticks; the command name holds spaces and a parenthesis.
        let stat = "1234 (her ald) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 5 0 100 0 0"
        #expect(ProcessStats.cpuSeconds(stat: stat, ticksPerSecond: 100) == 3.0)
        #expect(ProcessStats.cpuSeconds(stat: "garbage", ticksPerSecond: 100) == nil)
        #expect(ProcessStats.command(stat: stat) == "her ald) x")

        // This process: procfs is there on Linux.
        #expect((ProcessStats.residentBytes() ?? 0) > 1_000_000)
        #expect(ProcessStats.cpuSeconds() != nil)
        #expect(ProcessStats.bootID()?.isEmpty == false)
        #expect(ProcessStats.coreCount >= 1)
        let threads = ProcessStats.threads()
        #expect(!threads.isEmpty)
        #expect(threads.contains { $0.tid == getpid() })
    }
}
