import Foundation
import HeraldChildProcess
import HeraldRESP
import HeraldTestUtils

/// A Redis Cluster of a test's own: three primaries with one replica each, joined by
/// `redis-cli --cluster create … --cluster-replicas 1` in a temporary directory, with a short
/// node timeout so that a replica takes over a killed primary within a couple of seconds.
struct TestRedisCluster {
    let servers: [TestRedisServer]
    let password: String
    let directory: URL

    /// Starts six nodes, joins them and waits until every slot is served and every replica
    /// is in sync with its primary.
    static func start(nodeTimeoutMilliseconds: Int = 1000) async throws -> TestRedisCluster {
        let password = "failover-\(UInt32.random(in: 0...UInt32.max))"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "herald-e2e-cluster-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var servers: [TestRedisServer] = []
        do {
            for _ in 0..<6 {
                servers.append(
                    try await TestRedisServer.start(password: password, cluster: nodeTimeoutMilliseconds, in: directory)
                )
            }
            let cluster = TestRedisCluster(servers: servers, password: password, directory: directory)
            try await cluster.create()
            try await cluster.waitUntilHealthy()
            return cluster
        } catch {
            for server in servers { await server.remove() }
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// The primaries, as the cluster reports them now.
    func primaries() async -> [TestRedisServer] {
        var primaries: [TestRedisServer] = []
        for server in self.servers where await server.pid != nil {
            if await self.role(of: server) == "master" { primaries.append(server) }
        }
        return primaries
    }

    /// `redis+cluster://` with the primaries as seeds.
    func url(seeds: [TestRedisServer]) -> String {
        "redis+cluster://:\(self.password)@" + seeds.map(\.address).joined(separator: ",")
    }

    /// Whether every running node says the cluster is ok and serves every slot with a primary
    /// that is not `failed`.
    func isHealthy() async -> Bool {
        for server in self.servers where await server.pid != nil {
            guard let info = try? await server.send(RESPCommand("CLUSTER", "INFO")).string,
                info.contains("cluster_state:ok"), info.contains("cluster_slots_ok:16384")
            else { return false }
        }
        return true
    }

    /// Waits until the cluster is healthy and each primary has a replica in sync.
    func waitUntilHealthy(timeout: Duration = .seconds(30)) async throws {
        let ready = await eventually(timeout: timeout, interval: .milliseconds(100)) {
            guard await self.isHealthy() else { return false }
            var synced = 0
            for server in self.servers where await server.pid != nil {
                guard let info = try? await server.send(RESPCommand("INFO", "replication")).string else { return false }
                if info.contains("role:slave") {
                    guard info.contains("master_link_status:up") else { return false }
                    synced += 1
                }
            }
            return synced == 3
        }
        guard ready else {
            throw HeraldProcessError("The test's Redis Cluster did not become healthy with its replicas in sync.")
        }
    }

    /// Stops every node and removes the directory.
    func remove() async {
        for server in self.servers { await server.remove() }
        try? FileManager.default.removeItem(at: self.directory)
    }

    private func role(of server: TestRedisServer) async -> String? {
        guard let info = try? await server.send(RESPCommand("INFO", "replication")).string else { return nil }
        return info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("role:") }.map { String($0.dropFirst(5)) }
    }

    /// `redis-cli --cluster create` takes seconds: it waits on a thread of its own.
    private func create() async throws {
        let arguments =
            ["redis-cli", "--no-auth-warning", "--cluster", "create"] + self.servers.map(\.address) + [
                "--cluster-replicas", "1", "--cluster-yes",
            ]
        let password = self.password
        let log = self.directory.appendingPathComponent("create.log")
        let status = try await BlockingWork.run {
            try ChildSpawn.run(["/usr/bin/env"] + arguments, environment: ["REDISCLI_AUTH": password], output: log.path)
        }
        guard status == 0 else {
            throw HeraldProcessError(
                "redis-cli --cluster create failed.",
                standardError: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
        }
    }
}
