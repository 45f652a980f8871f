import Foundation
import HeraldTestUtils
import HeraldWire
import Testing

/// What the cluster tests share: starting nodes of one cluster, asking dispatch, and clients
/// that reconnect the way a real one does, through `GET /v1/dispatch`.
enum ClusterHarness {
    /// The PostgreSQL and Redis that `scripts/test` starts.
    static func sharedStores() throws -> (postgres: String, redis: String) {
        let environment = ProcessInfo.processInfo.environment
        guard let postgres = environment["HERALD_TEST_POSTGRES_URL"], !postgres.isEmpty,
            let redis = environment["HERALD_TEST_REDIS_URL"], !redis.isEmpty
        else {
            throw HeraldProcessError("HERALD_TEST_POSTGRES_URL and HERALD_TEST_REDIS_URL are not set: run scripts/test")
        }
        return (postgres, redis)
    }

    /// Starts `count` nodes of one cluster in a Redis namespace of its own, on the Redis of
    /// `scripts/test` unless `redis` names others (one URL for every node, or one per node),
    /// each with `arguments` added to its flags. Node `i` is called `<namespace>-<i>`.
    static func startNodes(
        _ count: Int, leaseTTL: String = "10", redis: [String]? = nil, arguments: [String] = []
    ) async throws -> [HeraldProcess] {
        let stores = try Self.sharedStores()
        let urls = redis ?? [stores.redis]
        let namespace = "e2e-" + UUID().uuidString.prefix(8).lowercased()
        var nodes: [HeraldProcess] = []
        for index in 0..<count {
            nodes.append(
                try await HeraldProcess.start([
                    "--store", stores.postgres, "--redis", urls[index % urls.count], "--redis-namespace", namespace,
                    "--node-id", "\(namespace)-\(index)", "--lease-ttl", leaseTTL, "--drain-timeout", "1",
                    "--event-loops", "1", "--task-loops", "1",
                ] + arguments))
        }
        return nodes
    }

    /// Runs `body`, then `cleanup`, also when `body` throws: processes a test started are
    /// stopped however it ends.
    static func finally<T>(_ cleanup: () async -> Void, _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await cleanup()
            return result
        } catch {
            await cleanup()
            throw error
        }
    }

    /// Kills the nodes still running (a test that got to its end has stopped them already).
    static func stop(_ nodes: [HeraldProcess]) async {
        for node in nodes where node.isRunning {
            _ = try? await node.kill()
        }
    }

    /// The nodes `GET /v1/dispatch` offers `user`, as asked of `node`.
    static func dispatched(_ app: AppCredentials, user: String, by node: HeraldProcess) async throws -> [String] {
        let answer = try await APIClient(node).dispatch(app, user: user)
        return (answer["endpoints"]?.array ?? []).compactMap { $0["node"]?.string }
    }

    /// A client on `node`, authenticated with a token `issuer` made.
    static func client(
        on node: HeraldProcess, app: AppCredentials, user: String, device: String = "phone", issuer: HeraldProcess
    ) async throws -> RawClient {
        try await Self.session(on: node, app: app, user: user, device: device, issuer: issuer).client
    }

    /// A client on `node` and its AUTH_OK, authenticated with a token `issuer` made.
    static func session(
        on node: HeraldProcess, app: AppCredentials, user: String, device: String = "phone", issuer: HeraldProcess
    ) async throws -> (client: RawClient, ok: AuthOK) {
        let token = try await APIClient(issuer).token(app, user: user, device: device)
        // An app just made on another node reaches this one over the bus a moment later.
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let client = try await RawClient.connect(.tcp, to: node)
            do {
                return (client, try await client.auth(token: token))
            } catch RawClientError.serverError(_, let body)
                where body.code == ErrorCode.unknownApp.rawValue && ContinuousClock.now < deadline
            {
                await client.close()
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// A client that reconnects as a real one does: it asks `asking` for dispatch, connects to
    /// the first TCP address offered and authenticates. Returns the client, the node's id and the AUTH_OK.
    static func reconnect(
        _ app: AppCredentials, user: String, device: String = "phone", asking: HeraldProcess
    ) async throws -> (client: RawClient, node: String, ok: AuthOK) {
        let answer = try await APIClient(asking).dispatch(app, user: user)
        guard let first = answer["endpoints"]?.array?.first, let node = first["node"]?.string,
            let address = first["tcp"]?.string, let colon = address.lastIndex(of: ":"),
            let port = Int(address[address.index(after: colon)...])
        else {
            throw HeraldProcessError("dispatch offered no TCP endpoint for \(user)")
        }
        let token = try await APIClient(asking).token(app, user: user, device: device)
        let client = try await RawClient.connect(.tcp, host: String(address[..<colon]), port: port)
        return (client, node, try await client.auth(token: token))
    }

    /// Waits until the cluster lists `count` sessions of `user`.
    static func online(
        _ app: AppCredentials, user: String, sessions count: Int, asking node: HeraldProcess,
        timeout: Duration = .seconds(10)
    ) async -> Bool {
        await eventually(timeout: timeout) {
            (try? await APIClient(node).userStatus(app, user: user).sessions.count) == count
        }
    }

    /// The pushes that arrive until nothing more comes for `quiet`.
    static func drain(_ client: RawClient, quiet: Duration = .milliseconds(500)) async throws
        -> [(seq: UInt32, flags: FrameFlags, body: PushBody)]
    {
        var pushes: [(seq: UInt32, flags: FrameFlags, body: PushBody)] = []
        while let event = try await client.poll(for: quiet) {
            guard case .frame(let frame) = event, case .push(let seq, let flags, let body) = try ServerMessage(frame)
            else {
                continue
            }
            pushes.append((seq, flags, body))
        }
        return pushes
    }
}
