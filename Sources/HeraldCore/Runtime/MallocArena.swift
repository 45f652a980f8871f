import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Readies the malloc arena of each event loop thread for the memory its connections will take.
///
/// glibc gives each thread its own arena and grows it in place one `mprotect` call per page,
/// with no padding; so a loop accepting thousands of connections a second makes a
/// `mprotect` call for nearly every one, and each takes the process's memory-map lock.
/// Allocating and freeing a block of chunks once, on the loop's thread, leaves the arena
/// writable that far: glibc gives the pages back (`madvise`) but keeps the protection, so
/// later growth is only page faults. Elsewhere this does nothing.
public enum MallocArena {
    /// Bytes readied by default per thread: nearly all of glibc's first 64 MiB arena heap (a
    /// reserve past it would spill into a second heap, which glibc unmaps again once it is
    /// empty). An accepting loop holds about 2 KiB of NIO's per connection it accepts, so
    /// this covers some 25,000 connections before growth costs `mprotect` calls again.
    public static let defaultReserve = 60 << 20

    /// Readies the calling thread's arena for `bytes` more.
    public static func reserve(bytes: Int) {
        #if canImport(Glibc)
            // Under the 128 KiB mmap threshold, so the chunks come from the arena.
            let chunk = 64 << 10
            let count = max(0, bytes / chunk)
            guard count > 0 else { return }
            let blocks = UnsafeMutableBufferPointer<UnsafeMutableRawPointer?>.allocate(capacity: count)
            defer { blocks.deallocate() }
            for index in 0..<count {
                blocks[index] = malloc(chunk)
            }
            // Last first, so that each joins the arena's top and the top is trimmed.
            for index in (0..<count).reversed() {
                free(blocks[index])
            }
        #endif
    }

    /// ``reserve(bytes:)`` on the thread of every loop of `group`.
    public static func reserve(bytes: Int = Self.defaultReserve, onEveryLoopOf group: any EventLoopGroup) async {
        for loop in group.makeIterator() {
            try? await loop.submit { Self.reserve(bytes: bytes) }.get()
        }
    }
}
