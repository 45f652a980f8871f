import Foundation
import HeraldCore
import NIOCore
import NIOPosix
import Testing

@Suite struct MallocArenaTests {
    /// Resident bytes of this process, from /proc (Linux); nil elsewhere.
    static func residentBytes() -> Int? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Readying 64 MiB on each loop of a group leaves the memory with the system: the point is
    /// the arena's protection, not holding pages. (Kept, the chunks' headers alone would be
    /// 8 MiB resident.)
    @Test func reservingGivesTheMemoryBack() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        // The threads' own start-up and the first run of the code (its pages) are not what is
        // measured: a first, small reserve takes them.
        await MallocArena.reserve(bytes: 1 << 20, onEveryLoopOf: group)
        let before = try #require(Self.residentBytes())
        await MallocArena.reserve(bytes: 64 << 20, onEveryLoopOf: group)
        let after = try #require(Self.residentBytes())
        #expect(after - before < 4 << 20, "resident grew by \(after - before) bytes")

        // The loops allocate normally afterwards.
        let sums = try await group.next().submit { (0..<10_000).map { [UInt8](repeating: 1, count: $0 % 512) }.count }
            .get()
        #expect(sums == 10_000)
        try await group.shutdownGracefully()
    }
}
