import Foundation
import NIOConcurrencyHelpers

/// Network namespaces on a bridge of the test's own, for tests that cut a process off the
/// network (`ip link set … down`) while the test, in the root namespace, still reaches the rest.
///
/// The bridge holds `.1` of a /24 in 10/8 that no interface uses; each namespace gets the next
/// address on the namespace's end of a veth pair whose other end is on the bridge. Every name
/// starts with a random prefix, so runs side by side do not collide. ``remove()`` deletes what
/// the network made, stopping what still runs in its namespaces, and tolerates anything that
/// was never made or is already gone.
public final class VirtualNetwork: Sendable {
    /// A namespace on the bridge.
    public struct Namespace: Sendable {
        /// The name `ip netns` knows it by.
        public var name: String
        /// Its address on the bridge's subnet.
        public var address: String
        /// The root namespace's end of its veth pair: down, the namespace is cut off.
        public var link: String
    }

    /// Why a command failed, as a sentence.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The first three bytes of the subnet's addresses, for example `10.123.45`.
    public let subnet: String
    /// The bridge's address: how the namespaces reach the root namespace.
    public var bridgeAddress: String { self.subnet + ".1" }

    private let prefix: String
    private var bridge: String { self.prefix + "br" }
    private let namespaces = NIOLockedValueBox<[Namespace]>([])

    /// Nil where network namespaces work here; else why not (the probe tries `ip netns add`).
    public static let unavailability: String? = VirtualNetwork.probe()

    private init(prefix: String, subnet: String) {
        self.prefix = prefix
        self.subnet = subnet
    }

    /// Makes the bridge, on a subnet no interface of the root namespace uses.
    public static func make() throws -> VirtualNetwork {
        let used = (try? Self.run(["-4", "-o", "addr", "show"])) ?? ""
        var subnet = ""
        repeat {
            subnet = "10.\(Int.random(in: 100...199)).\(Int.random(in: 0...255))"
        } while used.contains(" \(subnet).")
        let network = VirtualNetwork(prefix: "hz" + Self.randomHex(6), subnet: subnet)
        do {
            try Self.run(["link", "add", network.bridge, "type", "bridge"])
            try Self.run(["addr", "add", "\(network.bridgeAddress)/24", "dev", network.bridge])
            try Self.run(["link", "set", network.bridge, "up"])
        } catch {
            network.remove()
            throw error
        }
        return network
    }

    /// A new namespace on the bridge, its loopback and link up.
    public func addNamespace() throws -> Namespace {
        let index = self.namespaces.withLockedValue { namespaces in
            let index = namespaces.count
            namespaces.append(
                Namespace(
                    name: "\(self.prefix)-\(index)", address: "\(self.subnet).\(index + 10)",
                    link: "\(self.prefix)v\(index)")
            )
            return index
        }
        let namespace = self.namespaces.withLockedValue { $0[index] }
        try Self.run(["netns", "add", namespace.name])
        try Self.run(["link", "add", namespace.link, "type", "veth", "peer", "name", "eth0", "netns", namespace.name])
        try Self.run(["link", "set", namespace.link, "master", self.bridge, "up"])
        try Self.run(["-n", namespace.name, "addr", "add", "\(namespace.address)/24", "dev", "eth0"])
        try Self.run(["-n", namespace.name, "link", "set", "eth0", "up"])
        try Self.run(["-n", namespace.name, "link", "set", "lo", "up"])
        return namespace
    }

    /// Takes `namespace`'s link down (nothing goes in or out) or up again.
    public func setLink(of namespace: Namespace, up: Bool) throws {
        try Self.run(["link", "set", namespace.link, up ? "up" : "down"])
    }

    /// The command line that runs `arguments` (a program's absolute path first) in `namespace`.
    public func launcher(in namespace: Namespace) -> [String] {
        [Self.ip, "netns", "exec", namespace.name]
    }

    /// Deletes the namespaces (stopping what still runs in them) and the bridge.
    public func remove() {
        for namespace in self.namespaces.withLockedValue({ $0 }) {
            // Only processes the test started run in its namespaces.
            let pids = (try? Self.run(["netns", "pids", namespace.name])) ?? ""
            for pid in pids.split(whereSeparator: \.isNewline).compactMap({ Int32($0) }) {
                kill(pid, SIGKILL)
            }
            _ = try? Self.run(["link", "del", namespace.link])
            _ = try? Self.run(["netns", "del", namespace.name])
        }
        _ = try? Self.run(["link", "del", self.bridge])
    }

    // MARK: Running ip

    /// iproute2's `ip`, where distributions put it.
    static let ip =
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        } ?? "/usr/sbin/ip"

    /// Runs `ip arguments`, returning its output; a failure says what failed and why.
    ///
    /// The output goes to temporary files, read once `ip` exited: a pipe read to its end would
    /// wait for every process holding its write end, and a program another test starts at the
    /// same moment may inherit it and live on.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let directory = FileManager.default.temporaryDirectory
        let output = directory.appendingPathComponent("herald-ip-\(UUID().uuidString).out")
        let errors = directory.appendingPathComponent("herald-ip-\(UUID().uuidString).err")
        defer {
            try? FileManager.default.removeItem(at: output)
            try? FileManager.default.removeItem(at: errors)
        }
        guard FileManager.default.createFile(atPath: output.path, contents: nil),
            FileManager.default.createFile(atPath: errors.path, contents: nil),
            let outputHandle = try? FileHandle(forWritingTo: output),
            let errorsHandle = try? FileHandle(forWritingTo: errors)
        else {
            throw Failure(description: "the output files of ip \(arguments.joined(separator: " ")) cannot be made")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.ip)
        process.arguments = arguments
        process.standardOutput = outputHandle
        process.standardError = errorsHandle
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "\(Self.ip) could not be started: \(error.localizedDescription)")
        }
        process.waitUntilExit()
        try? outputHandle.close()
        try? errorsHandle.close()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            var why = ((try? String(contentsOf: errors, encoding: .utf8)) ?? "").trimmingCharacters(
                in: .whitespacesAndNewlines)
            if why.isEmpty { why = "exit status \(process.terminationStatus)" }
            throw Failure(description: "ip \(arguments.joined(separator: " ")) failed: \(why)")
        }
        return text
    }

    private static func probe() -> String? {
        let name = "herald-probe-" + Self.randomHex(8)
        do {
            try Self.run(["netns", "add", name])
            _ = try? Self.run(["netns", "del", name])
            return nil
        } catch {
            return "\(error)"
        }
    }

    private static func randomHex(_ count: Int) -> String {
        String((0..<count).map { _ in "0123456789abcdef".randomElement() ?? "0" })
    }
}
