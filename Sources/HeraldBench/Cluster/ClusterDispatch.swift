import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Asks a cluster where each bench user connects: `GET /v1/dispatch?app=…&user=…` once per
/// user, many requests in flight on a few keep-alive connections, as devices ask before they
/// connect. The first endpoint of each answer is the user's node.
public enum ClusterDispatch {
    /// Requests kept in flight while asking.
    public static let inFlight = 256
    /// HTTP connections the questions go over.
    public static let connections = 4

    /// The first endpoint of every user `userPrefix + 0 ..< users` of `app`, asked of the API
    /// at `api`, in user order.
    public static func ask(
        api: String,
        app: String,
        userPrefix: String,
        users: Int,
        group: any EventLoopGroup
    ) async throws -> [BenchEndpoint] {
        let load = BenchHTTPLoad(
            apiBaseURL: api, bearer: "none", connections: Self.connections, group: group, pipelining: 1)
        do {
            let endpoints = try await Self.ask(load: load, app: app, userPrefix: userPrefix, users: users)
            await load.close()
            return endpoints
        } catch {
            await load.close()
            throw error
        }
    }

    private static func ask(load: BenchHTTPLoad, app: String, userPrefix: String, users: Int) async throws
        -> [BenchEndpoint]
    {
        var endpoints = [BenchEndpoint?](repeating: nil, count: users)
        try await withThrowingTaskGroup(of: (Int, BenchEndpoint).self) { group in
            var next = 0
            func addNext() {
                let user = next
                next += 1
                group.addTask {
                    let path = "/v1/dispatch?app=\(app)&user=\(userPrefix)\(user)"
                    let answer = try await load.get(path: path)
                    guard answer.status == 200 else {
                        throw BenchError(
                            "GET \(path) answered \(answer.status): \(String(buffer: answer.body).prefix(200))")
                    }
                    return (user, try Self.firstEndpoint(in: answer.body))
                }
            }
            while next < min(users, Self.inFlight) { addNext() }
            while let (user, endpoint) = try await group.next() {
                endpoints[user] = endpoint
                if next < users { addNext() }
            }
        }
        return endpoints.compactMap { $0 }
    }

    /// The first endpoint of a dispatch answer, `{"endpoints": [{"node", "tcp", "ws"}, …], …}`.
    public static func firstEndpoint(in body: ByteBuffer) throws -> BenchEndpoint {
        struct Answer: Decodable {
            struct Endpoint: Decodable {
                var node: String
                var tcp: String
                var ws: String?
            }
            var endpoints: [Endpoint]
        }
        let answer: Answer
        do {
            answer = try JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView))
        } catch {
            throw BenchError("a dispatch answer is not the JSON the API documents: \(String(buffer: body).prefix(200))")
        }
        guard let first = answer.endpoints.first else { throw BenchError("a dispatch answer names no gateway") }
        return try BenchEndpoint(node: first.node, tcp: first.tcp, ws: first.ws)
    }
}
