#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// This process's resident set size, for `GET /v1/stats`.
enum ResidentMemory {
    /// `VmRSS` from `/proc/self/status` in bytes; nil where there is no procfs.
    static func current() -> Int? {
        guard let data = FileManager.default.contents(atPath: "/proc/self/status") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            // "VmRSS:     12345 kB"
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }
}
