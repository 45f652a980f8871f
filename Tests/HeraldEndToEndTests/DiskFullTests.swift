import Foundation
import HeraldTestUtils
import HeraldWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A full disk under the SQLite store: QoS 1 answers 503 while nothing can be written, never
/// 2xx without a durable write, and the node recovers by itself once space frees. The data
/// directory is on a small tmpfs the test mounts (root only: skipped otherwise).
@Suite("Full disk", .timeLimit(.minutes(3)))
struct DiskFullTests {
    /// Whether this process may mount a tmpfs.
    static let canMount = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/mount")

    @Test(
        "QoS 1 answers 503 while the disk is full, 2xx only for durable messages, and recovers when space frees",
        .enabled(if: Self.canMount, "mounting a tmpfs needs root")
    )
    func fullDiskAnswers503AndRecovers() async throws {
        let mountPoint = FileManager.default.temporaryDirectory
            .appendingPathComponent("herald-full-\(UUID().uuidString.prefix(8).lowercased())").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", mountPoint])
        defer {
            try? Self.run("/bin/umount", ["-l", mountPoint])
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        let directory = mountPoint + "/data"
        let server = try await HeraldProcess.start(["--data-dir", directory])
        let api = APIClient(server)
        let app = try await api.createApp(prefix: "full")
        let filler = mountPoint + "/filler"
        // Full but for about 256 KiB: some pushes fit, then the store runs out of space.
        Self.fill(filler, leaving: 256 * 1024)

        // Push until the store refuses; every answer is a stored 2xx or a 503, nothing else.
        var stored: [Int] = []
        var refusals = 0
        let payload = String(repeating: "x", count: 2048)
        for index in 0..<3000 where refusals < 5 {
            let answer = try await api.request(
                "POST", "/v1/apps/\(app.id)/messages", bearer: app.secret,
                json: .object(["users": .array([.string("u")]), "qos": .number(1), "payload": .string("\(index)-\(payload)")])
            )
            switch answer.status {
            case 200..<300:
                let result = try answer.decode(APIClient.PushResult.self)
                stored.append(try #require(result.messages?.first?.seq))
            case 503:
                refusals += 1
                #expect(answer.json?["error"]?["code"] != nil, "a 503 without a JSON error: \(answer.json as Any)")
            default:
                Issue.record("a push answered \(answer.status) on a full disk: \(answer.json as Any)")
                refusals += 1
            }
        }
        #expect(refusals >= 5, "the disk never filled: \(stored.count) pushes were stored")
        #expect(!stored.isEmpty, "no push fitted in the space left")
        #expect(try await api.health() == 200, "the node stopped answering on a full disk")

        // Space frees: the node stores again without a restart.
        try FileManager.default.removeItem(atPath: filler)
        let recovered = await eventually(timeout: .seconds(30), interval: .milliseconds(200)) {
            guard let result = try? await api.push(app, users: ["u"], payload: .text("after"), qos: 1),
                let seq = result.messages?.first?.seq
            else { return false }
            stored.append(seq)
            return true
        }
        #expect(recovered, "the node did not store again once space was freed")

        // Every message answered 2xx is there after a crash, in order, without gaps.
        _ = try await server.kill()
        try await server.restart()
        let client = try await RawClient.connect(.tcp, to: server)
        _ = try await client.auth(token: try await APIClient(server).token(app, user: "u"))
        var received: [UInt32] = []
        while let event = try await client.poll(for: .milliseconds(1500)) {
            guard case .frame(let frame) = event, case .push(let seq, _, _) = try ServerMessage(frame) else { break }
            received.append(seq)
        }
        #expect(received == received.indices.map { UInt32($0 + 1) }, "out of order or with gaps")
        #expect(Set(stored.map(UInt32.init)).isSubset(of: Set(received)), "a message answered 2xx was lost")
        _ = try await server.terminate()
    }

    /// Writes `path` until the filesystem has no space left, then gives back `leaving` bytes.
    static func fill(_ path: String, leaving: Int) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while chunk.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) > 0 {}
        var byte: UInt8 = 0
        while write(descriptor, &byte, 1) > 0 {}
        let size = lseek(descriptor, 0, SEEK_END)
        _ = ftruncate(descriptor, max(0, size - off_t(leaving)))
    }

    static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HeraldProcessError("\(executable) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus))")
        }
    }
}
