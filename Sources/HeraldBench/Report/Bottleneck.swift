/// Which side limited a run, judged from CPU time over the measured part.
public struct Bottleneck: Sendable, Codable, Hashable {
    /// The verdict.
    public enum Side: String, Sendable, Codable, Hashable {
        /// The server was busy on every core (or used more of a saturated machine).
        case server
        /// The load generators were (agents and the controller).
        case clients
        /// Neither was short of CPU: the rate asked for, latency or the network set the pace.
        case neither
        /// Not enough to tell (no `--server-pid`, or agents on other machines).
        case unknown
    }

    /// The verdict.
    public var side: Side
    /// Why, with the figures.
    public var reason: String
    /// Server CPU over the measured part, in cores (1.0: one core busy throughout).
    public var serverCores: Double?
    /// Agents' and controller's CPU, in cores.
    public var clientCores: Double?
    /// Cores of the machine the controller runs on.
    public var machineCores: Int
    /// The server's busiest thread.
    public var serverThread: BusiestThread?
    /// The busiest thread of the agents and the controller.
    public var clientThread: BusiestThread?

    /// Creates a verdict.
    public init(
        side: Side,
        reason: String,
        serverCores: Double?,
        clientCores: Double?,
        machineCores: Int,
        serverThread: BusiestThread? = nil,
        clientThread: BusiestThread? = nil
    ) {
        self.side = side
        self.reason = reason
        self.serverCores = serverCores
        self.clientCores = clientCores
        self.machineCores = machineCores
        self.serverThread = serverThread
        self.clientThread = clientThread
    }

    /// A busy process uses at least this share of what it could.
    static let busy = 0.85
    /// A thread this busy holds its process back on its own.
    static let busyThread = 0.9

    /// Judges from CPU seconds spent over `wallSeconds`.
    ///
    /// - Parameters:
    ///   - serverCPU: the server's CPU seconds, nil when its pid is unknown.
    ///   - clientCPU: agents' plus controller's CPU seconds, nil when an agent did not tell.
    ///   - sameMachine: whether server, agents and controller share this machine's cores.
    ///   - serverThread: the server's busiest thread, if known.
    ///   - clientThread: the busiest thread of the agents and the controller, if known.
    public static func judge(
        wallSeconds: Double,
        serverCPU: Double?,
        clientCPU: Double?,
        sameMachine: Bool,
        machineCores: Int,
        serverThread: BusiestThread? = nil,
        clientThread: BusiestThread? = nil
    ) -> Bottleneck {
        let cores = Double(max(1, machineCores))
        let serverCores = serverCPU.map { wallSeconds > 0 ? $0 / wallSeconds : 0 }
        let clientCores = clientCPU.map { wallSeconds > 0 ? $0 / wallSeconds : 0 }
        func verdict(_ side: Side, _ reason: String) -> Bottleneck {
            Bottleneck(
                side: side,
                reason: reason,
                serverCores: serverCores,
                clientCores: clientCores,
                machineCores: machineCores,
                serverThread: serverThread,
                clientThread: clientThread
            )
        }
        func describe(_ thread: BusiestThread) -> String {
            "thread \(thread.thread) of the \(thread.process) at \(Format.fixed(thread.cores * 100, 0))% of a core"
        }
        guard wallSeconds > 0 else { return verdict(.unknown, "the measured part took no time") }
        guard let server = serverCores else {
            if let clientThread, clientThread.cores >= Self.busyThread {
                return verdict(.clients, describe(clientThread) + "; server CPU unknown (no --server-pid)")
            }
            return verdict(.unknown, "server CPU unknown: give --server-pid when the server runs on this machine")
        }
        let serverText = "server \(Format.fixed(server, 2)) cores"
        if server >= Self.busy * cores {
            return verdict(.server, "\(serverText) of \(machineCores): busy on every core")
        }
        if let serverThread, serverThread.cores >= Self.busyThread {
            return verdict(.server, "\(describe(serverThread)) (\(serverText) of \(machineCores))")
        }
        if let clientThread, clientThread.cores >= Self.busyThread {
            return verdict(.clients, "\(describe(clientThread)) (\(serverText) of \(machineCores))")
        }
        guard let clients = clientCores else {
            return verdict(.unknown, "\(serverText), clients' CPU unknown")
        }
        let clientText = "clients \(Format.fixed(clients, 2)) cores"
        if sameMachine && server + clients >= Self.busy * cores {
            let side: Side = clients > server ? .clients : .server
            return verdict(
                side,
                "\(serverText), \(clientText) of \(machineCores) shared: the machine is saturated and the "
                    + (side == .clients ? "clients" : "server") + " used more"
            )
        }
        if !sameMachine && clients >= Self.busy * cores {
            return verdict(.clients, "\(clientText): busy")
        }
        var reason =
            "\(serverText), \(clientText) of \(machineCores): CPU to spare; the rate asked for or latency set the pace"
        let busiest = [serverThread, clientThread].compactMap { $0 }.map(describe)
        if !busiest.isEmpty { reason += " (busiest: " + busiest.joined(separator: ", ") + ")" }
        return verdict(.neither, reason)
    }
}
