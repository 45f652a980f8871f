import Foundation
import HeraldBench
import Histogram
import NIOCore
import Testing

@Suite("Agent protocol: JSON lines")
struct AgentProtocolTests {
    static let target = BenchTarget(
        tcpHost: "127.0.0.1",
        tcpPort: 7070,
        webSocketURL: "ws://127.0.0.1:7071/ws",
        apiBaseURL: "http://127.0.0.1:8080",
        app: "demo",
        secret: "s3cret-0123456789"
    )

    static func line(_ value: some Encodable) throws -> String {
        var buffer = try AgentWire.encode(value)
        return buffer.readString(length: buffer.readableBytes) ?? ""
    }

    static func object(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    static func request(_ text: String) throws -> AgentRequest {
        try AgentWire.decode(AgentRequest.self, from: ByteBuffer(string: text))
    }

    static func reply(_ text: String) throws -> AgentReply {
        try AgentWire.decode(AgentReply.self, from: ByteBuffer(string: text))
    }

    @Test func requestsAreFlatJSONLines() throws {
        let plan = ClientPlan(
            connections: 500, firstUser: 1000, sourceAddresses: ["127.0.0.2"], connectRate: 250, topics: ["news"])
        let start = try Self.line(AgentRequest(id: 7, command: .start(target: Self.target, plan: plan)))
        #expect(start.hasSuffix("}\n"))
        #expect(start.filter { $0 == "\n" }.count == 1)
        let object = try Self.object(start)
        #expect(object["op"] as? String == "start")
        #expect(object["id"] as? Int == 7)
        #expect((object["target"] as? [String: Any])?["tcpPort"] as? Int == 7070)
        #expect((object["plan"] as? [String: Any])?["firstUser"] as? Int == 1000)

        let decoded = try Self.request(String(start.dropLast()))
        #expect(decoded.id == 7)
        guard case .start(let target, let decodedPlan) = decoded.command else {
            Issue.record("decoded \(decoded.command.op)")
            return
        }
        #expect(target == Self.target)
        #expect(decodedPlan == plan)

        let reconnect = try Self.line(AgentRequest(id: 8, command: .reconnect(rate: 2500)))
        #expect(try Self.object(reconnect)["rate"] as? Double == 2500)
        guard case .reconnect(let rate) = try Self.request(reconnect).command else {
            Issue.record("reconnect did not round-trip")
            return
        }
        #expect(rate == 2500)
    }

    @Test(arguments: ["snapshot", "reset", "drop", "stop"])
    func simpleRequestsRoundTrip(op: String) throws {
        let decoded = try Self.request(#"{"op":"\#(op)","id":3}"#)
        #expect(decoded.command.op == op)
        #expect(decoded.id == 3)
        let line = try Self.line(decoded)
        #expect(try Self.object(line).keys.sorted() == ["id", "op"])
    }

    @Test func badRequestsAreRefused() {
        #expect(throws: (any Error).self) { try Self.request(#"{"op":"explode","id":1}"#) }
        #expect(throws: (any Error).self) { try Self.request(#"{"op":"snapshot"}"#) }
        #expect(throws: (any Error).self) { try Self.request(#"{"op":"reconnect","id":1,"rate":-5}"#) }
        #expect(throws: (any Error).self) { try Self.request(#"{"op":"start","id":1}"#) }
        #expect(throws: (any Error).self) { try Self.request("not json") }
    }

    @Test func repliesRoundTrip() throws {
        let outcome = ConnectOutcome(
            attempted: 10, authenticated: 9, failed: 1, refusedBusy: 2, retries: 3, seconds: 0.5)
        let connected = try Self.reply(try Self.line(AgentReply(id: 4, event: .connected(outcome))))
        guard case .connected(let decoded) = connected.event else {
            Issue.record("decoded \(connected.event.op)")
            return
        }
        #expect(connected.id == 4)
        #expect(decoded == outcome)

        let info = AgentInfo(pid: 42, host: "box", bootID: "boot", cores: 2, openFileLimit: 20_000)
        let hello = try Self.line(AgentReply(id: 0, event: .hello(info)))
        #expect(try Self.object(hello)["op"] as? String == "hello")
        guard case .hello(let decodedInfo) = try Self.reply(hello).event else {
            Issue.record("hello did not round-trip")
            return
        }
        #expect(decodedInfo == info)

        let failure = try Self.line(AgentReply(id: 5, event: .failed("too many connections")))
        #expect(try Self.object(failure)["op"] as? String == "error")
        guard case .failed(let message) = try Self.reply(failure).event else {
            Issue.record("error did not round-trip")
            return
        }
        #expect(message == "too many connections")

        for (event, op) in [(AgentEvent.reset, "reset"), (.dropped, "dropped"), (.stopped, "stopped")] {
            let line = try Self.line(AgentReply(id: 6, event: event))
            #expect(try Self.reply(line).event.op == op)
        }
        #expect(throws: (any Error).self) { try Self.reply(#"{"op":"mystery","id":1}"#) }
    }

    @Test func snapshotsCarryCountersAndHistograms() throws {
        var pool = PoolSnapshot()
        pool.attempted = 100
        pool.authenticated = 98
        pool.pushes = ["broadcast": 980]
        var histogram = LatencyHistogram.make()
        for value in 1...1000 { LatencyHistogram.record(UInt64(value * 10), in: &histogram) }
        pool.latency = ["broadcast": histogram]
        pool.lastArrivalNanos = 1_700_000_000_123_456_789
        let snapshot = AgentSnapshot(pool: pool, cpuSeconds: 1.25, residentBytes: 12_345_678)

        let line = try Self.line(AgentReply(id: 9, event: .snapshot(snapshot)))
        let object = try Self.object(line)
        #expect(object["op"] as? String == "snapshot")
        #expect((object["snapshot"] as? [String: Any])?["cpuSeconds"] as? Double == 1.25)

        guard case .snapshot(let decoded) = try Self.reply(line).event else {
            Issue.record("snapshot did not round-trip")
            return
        }
        #expect(decoded.cpuSeconds == 1.25)
        #expect(decoded.residentBytes == 12_345_678)
        #expect(decoded.pool.authenticated == 98)
        #expect(decoded.pool.pushes["broadcast"] == 980)
        #expect(decoded.pool.lastArrivalNanos == 1_700_000_000_123_456_789)
        let decodedHistogram = try #require(decoded.pool.latency["broadcast"])
        #expect(decodedHistogram.totalCount == 1000)
        #expect(decodedHistogram.valueAtPercentile(50) == histogram.valueAtPercentile(50))
        #expect(decodedHistogram.max == histogram.max)
    }

    @Test func fleetSnapshotMergesAgents() {
        var first = PoolSnapshot()
        first.open = 10
        first.pushes = ["user": 5]
        first.lastArrivalNanos = 100
        var second = PoolSnapshot()
        second.open = 20
        second.pushes = ["user": 7, "topic": 1]
        second.lastArrivalNanos = 300
        let fleet = FleetSnapshot(agents: [
            AgentSnapshot(pool: first, cpuSeconds: 1, residentBytes: nil),
            AgentSnapshot(pool: second, cpuSeconds: 2.5, residentBytes: nil),
        ])
        #expect(fleet.pool.open == 30)
        #expect(fleet.pushes("user") == 12)
        #expect(fleet.pushes("topic") == 1)
        #expect(fleet.pushes("broadcast") == 0)
        #expect(fleet.pool.lastArrivalNanos == 300)
        #expect(fleet.cpuSeconds == 3.5)
        #expect(
            FleetSnapshot(agents: [AgentSnapshot(pool: first, cpuSeconds: nil, residentBytes: nil)]).cpuSeconds == nil)
    }
}
