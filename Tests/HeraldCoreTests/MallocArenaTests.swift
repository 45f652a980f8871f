import HeraldCore
import NIOCore
import NIOPosix
import Testing

@Suite struct MallocArenaTests {
    /// Readying arenas runs on every loop of the group and leaves the loops allocating as
    /// before. (That the memory goes back to the system shows in the bench's idle scenario,
    /// which measures the server's resident memory per connection with the arenas readied: a
    /// process-wide measure here would count what the tests running alongside allocate.)
    @Test func reservingRunsOnEveryLoopAndTheLoopsAllocateAfterwards() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        await MallocArena.reserve(bytes: 64 << 20, onEveryLoopOf: group)
        await MallocArena.reserve(bytes: 0, onEveryLoopOf: group)
        await MallocArena.reserve(bytes: 1, onEveryLoopOf: group)
        for loop in group.makeIterator() {
            let total = try await loop.submit {
                (0..<10_000).map { [UInt8](repeating: 1, count: $0 % 512 + 64 * 1024 * ($0 % 2)) }
                    .reduce(0) { $0 + $1.count }
            }.get()
            #expect(total == (0..<10_000).reduce(0) { $0 + $1 % 512 + 64 * 1024 * ($1 % 2) })
        }
        try await group.shutdownGracefully()
    }
}
