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
    }

    @Test func theDefaultsAreTheFavourableCase() {
        let broadcast = BenchSettings(scenario: .broadcast)
        #expect(broadcast.preset == .favourable)
        #expect(broadcast.clientScheduling == .batch)
        #expect(broadcast.httpConnections == 32)
        #expect(broadcast.pipeline == 1)
        #expect(broadcast.presetMatched == .favourable)
        #expect(BenchSettings(scenario: .unicast).presetMatched == .favourable)
        #expect(BenchSettings(scenario: .connect).presetMatched == .favourable)
    }

    @Test func theOrdinaryPublisherIsOneConnectionWith48PipelinedToOrdinaryClients() {
        for scenario in [BenchScenario.broadcast, .topic, .unicast, .qos1] {
            let settings = BenchSettings(scenario: scenario, preset: .ordinaryPublisher)
            #expect(settings.preset == .ordinaryPublisher)
            #expect(settings.clientScheduling == .normal)
            #expect(settings.httpConnections == 1)
            #expect(settings.pipeline == 48)
            #expect(settings.presetMatched == .ordinaryPublisher)
            #expect(settings.problem == nil)
        }
        // The same values given one by one are the same case.
        let byHand = BenchSettings(scenario: .broadcast, clientScheduling: .normal, httpConnections: 1, pipeline: 48)
        #expect(byHand.preset == .favourable)
        #expect(byHand.presetMatched == .ordinaryPublisher)
    }

    @Test func optionsGivenWithAPresetWinOverIt() {
        let settings = BenchSettings(
            scenario: .broadcast, preset: .ordinaryPublisher, clientScheduling: .batch, pipeline: 16)
        #expect(settings.clientScheduling == .batch)
        #expect(settings.httpConnections == 1)
        #expect(settings.pipeline == 16)
        #expect(settings.presetMatched == nil)
        let favourable = BenchSettings(scenario: .unicast, httpConnections: 1, pipeline: 48)
        #expect(favourable.clientScheduling == .batch)
        #expect(favourable.presetMatched == nil)
    }

    @Test func presetsAreNamedForTheCommandLine() {
        #expect(BenchPreset(rawValue: "ordinary-publisher") == .ordinaryPublisher)
        #expect(BenchPreset(rawValue: "favourable") == .favourable)
        #expect(BenchPreset.allCases.map(\.rawValue) == ["favourable", "ordinary-publisher"])
        #expect(BenchPreset.ordinaryPublisher.summary.contains("48 requests pipelined"))
        #expect(BenchPreset.ordinaryPublisher.title == "ordinary publisher")
    }

    @Test func thePublisherIsDescribedInWords() {
        #expect(
            BenchSettings(scenario: .broadcast, preset: .ordinaryPublisher).publisherDescription
                == "one HTTP connection, 48 requests pipelined")
        #expect(
            BenchSettings(scenario: .broadcast).publisherDescription
                == "32 HTTP connections, one request in flight on each")
        #expect(
            BenchSettings(scenario: .unicast, httpConnections: 4, pipeline: 8).publisherDescription
                == "4 HTTP connections, 8 requests pipelined on each")
        #expect(
            BenchSettings(scenario: .unicast, httpConnections: 1).publisherDescription
                == "one HTTP connection, one request in flight")
        #expect(
            BenchSettings(scenario: .unicast, rate: 25_000).publisherDescription
                == "8 HTTP connections, requests sent as they fall due at --rate")
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
        #expect(BenchSettings(scenario: .broadcast, singles: 0).problem?.contains("--singles must be 1 to 100") == true)
        #expect(BenchSettings(scenario: .broadcast, singles: 101).problem?.contains("--singles") == true)
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
