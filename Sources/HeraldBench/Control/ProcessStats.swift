#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Figures about a process from Linux's `/proc`: memory, CPU time, and which machine it is on.
///
/// Every function answers nil where there is no procfs (or the process is gone), so a report
/// says "unknown" rather than failing.
public enum ProcessStats {
    /// Resident set size (`VmRSS`) in bytes of `pid`, or of this process when nil.
    public static func residentBytes(pid: Int32? = nil) -> Int? {
        guard let status = Self.readFile(Self.path(pid, "status")) else { return nil }
        return Self.residentBytes(status: status)
    }

    /// `VmRSS` in bytes from the text of `/proc/PID/status`.
    public static func residentBytes(status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }

    /// User plus system CPU time in seconds of `pid`, or of this process when nil.
    public static func cpuSeconds(pid: Int32? = nil) -> Double? {
        guard let stat = Self.readFile(Self.path(pid, "stat")) else { return nil }
        return Self.cpuSeconds(stat: stat, ticksPerSecond: Self.ticksPerSecond)
    }

    /// User plus system CPU time in seconds from the text of `/proc/PID/stat`.
    public static func cpuSeconds(stat: String, ticksPerSecond: Double) -> Double? {
        // The command name is in parentheses and may hold spaces: count fields after the last ")".
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]), ticksPerSecond > 0
        else { return nil }
        return (user + system) / ticksPerSecond
    }

    /// CPU time of every thread of `pid`, or of this process when nil.
    public static func threads(pid: Int32? = nil) -> [ThreadCPU] {
        let directory = Self.path(pid, "task")
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        let ticks = Self.ticksPerSecond
        var threads: [ThreadCPU] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let tid = Int32(name), let stat = Self.readFile("\(directory)/\(name)/stat"),
                let seconds = Self.cpuSeconds(stat: stat, ticksPerSecond: ticks)
            else { continue }
            threads.append(ThreadCPU(tid: tid, name: Self.command(stat: stat) ?? name, seconds: seconds))
        }
        return threads
    }

    /// The command (thread) name in the text of a `stat` file: what is between the first
    /// "(" and the last ")".
    public static func command(stat: String) -> String? {
        guard let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")"), open < close else { return nil }
        return String(stat[stat.index(after: open)..<close])
    }

    /// The kernel's boot id: two processes with the same one run on the same machine.
    public static func bootID() -> String? {
        Self.readFile("/proc/sys/kernel/random/boot_id").map { String($0.filter { !$0.isWhitespace }) }
    }

    /// This process's soft limit on open files.
    public static func openFileLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(Self.noFileResource, &limit) == 0 else { return nil }
        // RLIM_INFINITY is the largest value.
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    /// The machine's host name.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Cores this process may run on.
    public static var coreCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    private static var ticksPerSecond: Double {
        Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    #if canImport(Glibc)
        private static let noFileResource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let noFileResource = RLIMIT_NOFILE
    #endif

    private static func path(_ pid: Int32?, _ file: String) -> String {
        "/proc/\(pid.map(String.init) ?? "self")/\(file)"
    }

    /// Reads a small file to its end (procfs files report size 0, so no stat-then-read).
    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
