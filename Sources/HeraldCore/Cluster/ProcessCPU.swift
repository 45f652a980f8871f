#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's CPU use between two readings, for the node's lease.
struct ProcessCPU {
    private var lastCPU: Duration
    private var lastWall: ContinuousClock.Instant

    init() {
        self.lastCPU = Self.used()
        self.lastWall = .now
    }

    /// Cores' worth of CPU used since the previous reading (0 to the number of cores).
    mutating func sample() -> Double {
        let cpu = Self.used()
        let wall = ContinuousClock.now
        let elapsed = wall - self.lastWall
        defer {
            self.lastCPU = cpu
            self.lastWall = wall
        }
        guard elapsed > .zero else { return 0 }
        return max(0, (cpu - self.lastCPU) / elapsed)
    }

    /// User and system time of the whole process so far.
    private static func used() -> Duration {
        var usage = rusage()
        #if canImport(Glibc)
        let who = RUSAGE_SELF.rawValue
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return .zero }
        func duration(_ time: timeval) -> Duration {
            .seconds(Int64(time.tv_sec)) + .microseconds(Int64(time.tv_usec))
        }
        return duration(usage.ru_utime) + duration(usage.ru_stime)
    }
}
