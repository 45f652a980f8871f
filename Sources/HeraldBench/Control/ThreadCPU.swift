/// CPU time of one thread of a process, to find a thread that is busy on its own core while
/// the process as a whole is not (an event loop, a database thread).
public struct ThreadCPU: Sendable, Codable, Hashable {
    /// The thread id.
    public var tid: Int32
    /// Its name (`NIO-ELT-0-#1`, ...).
    public var name: String
    /// User plus system CPU seconds so far.
    public var seconds: Double

    /// Creates a reading.
    public init(tid: Int32, name: String, seconds: Double) {
        self.tid = tid
        self.name = name
        self.seconds = seconds
    }

    /// The thread that used the most CPU between two readings of one process, and how much.
    public static func busiest(from start: [ThreadCPU], to end: [ThreadCPU]) -> (name: String, seconds: Double)? {
        var before: [Int32: Double] = [:]
        for thread in start { before[thread.tid] = thread.seconds }
        var busiest: (name: String, seconds: Double)?
        for thread in end {
            // A thread born in between started from zero.
            let used = max(0, thread.seconds - (before[thread.tid] ?? 0))
            if used > (busiest?.seconds ?? -1) { busiest = (thread.name, used) }
        }
        return busiest
    }
}
