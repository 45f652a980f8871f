/// The thread of a process that used the most CPU over a measured part: one at a whole core
/// holds its process back even when the process as a whole has cores to spare.
public struct BusiestThread: Sendable, Codable, Hashable {
    /// Which process: `server`, `controller`, or an agent's name.
    public var process: String
    /// The thread's name.
    public var thread: String
    /// Its CPU over the part, in cores (1.0: busy throughout).
    public var cores: Double

    /// Creates a reading.
    public init(process: String, thread: String, cores: Double) {
        self.process = process
        self.thread = thread
        self.cores = cores
    }
}
